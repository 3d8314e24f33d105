package benchmark

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"sort"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Text metrics of basicfont.Face7x13.
const (
	charW   = 7
	lineH   = 13
	ascentH = 11
)

var (
	colWhite = color.RGBA{255, 255, 255, 255}
	colBlack = color.RGBA{0, 0, 0, 255}
	colGrey  = color.RGBA{120, 120, 120, 255}
	colLight = color.RGBA{225, 225, 225, 255}
	// Heatmap ramp: white to a dark blue.
	heatLo = color.RGBA{247, 251, 255, 255}
	heatHi = color.RGBA{8, 48, 107, 255}
	// Bar colours (Tableau 10), cycled when there are more labelers.
	palette = []color.RGBA{
		{78, 121, 167, 255}, {242, 142, 43, 255}, {225, 87, 89, 255}, {118, 183, 178, 255},
		{89, 161, 79, 255}, {237, 201, 72, 255}, {176, 122, 161, 255}, {255, 157, 167, 255},
		{156, 117, 95, 255}, {186, 176, 172, 255},
	}
)

// textWidth returns the width in pixels of s in basicfont.Face7x13.
func textWidth(s string) int { return charW * len([]rune(s)) }

// drawText draws s with its baseline at y, starting at x.
func drawText(img draw.Image, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// drawCentered draws s centred on (cx, cy).
func drawCentered(img draw.Image, cx, cy int, s string, c color.Color) {
	drawText(img, cx-textWidth(s)/2, cy+(ascentH-2)/2, s, c)
}

func fillRect(img draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func strokeRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	for x := r.Min.X; x < r.Max.X; x++ {
		img.Set(x, r.Min.Y, c)
		img.Set(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		img.Set(r.Min.X, y, c)
		img.Set(r.Max.X-1, y, c)
	}
}

func lerp(a, b color.RGBA, t float64) color.RGBA {
	f := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t + 0.5) }
	return color.RGBA{f(a.R, b.R), f(a.G, b.G), f(a.B, b.B), 255}
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Heatmap layout, in pixels.
const (
	hmCell   = 64
	hmStrip  = 22 // left strip holding the vertical row label
	hmTop    = 74
	hmBottom = 30
	hmRight  = 16
)

// heatmapSize returns the image size WriteHeatmapPNG uses.
func heatmapSize(k int, title string, minGrade int) (w, h, left int) {
	labelChars := max(len(strconv.Itoa(minGrade)), len(strconv.Itoa(minGrade+k-1)))
	left = hmStrip + labelChars*charW + 12
	w = max(left+k*hmCell+hmRight, textWidth(title)+20)
	h = hmTop + k*hmCell + hmBottom
	return w, h, left
}

func heatmapTitle(rowLabel, colLabel string) string {
	return "Confusion: " + rowLabel + " (rows) vs " + colLabel + " (columns)"
}

// WriteHeatmapPNG draws a confusion matrix as an annotated heatmap: rows are
// rowLabel's grades, columns colLabel's, each cell shows its count and its
// share of the row, and the colour grows with that share (so the pattern
// stays visible when the grades are unbalanced). Grades are
// numbered from minGrade.
func WriteHeatmapPNG(path string, confusion [][]int, rowLabel, colLabel string, minGrade int) error {
	k := len(confusion)
	if k == 0 {
		return errors.New("benchmark: empty confusion matrix")
	}
	for i, row := range confusion {
		if len(row) != k {
			return fmt.Errorf("benchmark: confusion row %d has %d columns, want %d", i, len(row), k)
		}
		for _, c := range row {
			if c < 0 {
				return fmt.Errorf("benchmark: negative count %d in confusion matrix", c)
			}
		}
	}
	title := heatmapTitle(rowLabel, colLabel)
	w, h, left := heatmapSize(k, title, minGrade)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(img, img.Bounds(), colWhite)
	gridW := k * hmCell
	drawText(img, 10, 8+ascentH, title, colBlack)

	// Column axis: title and grade numbers.
	drawCentered(img, left+gridW/2, 36, colLabel, colGrey)
	for j := 0; j < k; j++ {
		drawCentered(img, left+j*hmCell+hmCell/2, hmTop-12, strconv.Itoa(minGrade+j), colBlack)
	}
	// Row axis: title written vertically (one character per line), grades.
	maxChars := k * hmCell / lineH
	runes := []rune(rowLabel)
	if len(runes) > maxChars {
		runes = append(runes[:maxChars-1], '.')
	}
	y0 := hmTop + (k*hmCell-len(runes)*lineH)/2
	for i, r := range runes {
		drawCentered(img, hmStrip/2+2, y0+i*lineH+lineH/2, string(r), colGrey)
	}
	for i := 0; i < k; i++ {
		s := strconv.Itoa(minGrade + i)
		drawText(img, left-8-textWidth(s), hmTop+i*hmCell+hmCell/2+(ascentH-2)/2, s, colBlack)
	}

	for i, row := range confusion {
		total := 0
		for _, c := range row {
			total += c
		}
		for j, c := range row {
			r := image.Rect(left+j*hmCell, hmTop+i*hmCell, left+(j+1)*hmCell, hmTop+(i+1)*hmCell)
			t := 0.0
			if total > 0 {
				t = float64(c) / float64(total)
			}
			bg := lerp(heatLo, heatHi, t)
			fillRect(img, r, bg)
			fg := colBlack
			if t > 0.5 {
				fg = colWhite
			}
			cx, cy := (r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2
			drawCentered(img, cx, cy-7, strconv.Itoa(c), fg)
			if total > 0 {
				drawCentered(img, cx, cy+8, fmt.Sprintf("%.0f%%", 100*float64(c)/float64(total)), fg)
			}
			if i == j {
				strokeRect(img, r.Inset(1), color.RGBA{230, 120, 30, 255})
			}
		}
	}
	strokeRect(img, image.Rect(left, hmTop, left+gridW, hmTop+k*hmCell), colGrey)
	drawText(img, left, hmTop+k*hmCell+20, "count (% of row); diagonal = agreement", colGrey)
	return writePNG(path, img)
}

// Distribution chart layout, in pixels.
const (
	dsPlotH   = 220
	dsTop     = 40
	dsBottom  = 44
	dsLeft    = 64
	dsGap     = 24
	dsLegendW = 40 // swatch and padding, plus the longest name
)

// distributionLayout returns the image size and bar width WriteDistributionPNG uses.
func distributionLayout(counts map[string][]int) (w, h, barW, grades, maxCount int, names []string) {
	for name, c := range counts {
		names = append(names, name)
		grades = max(grades, len(c))
		for _, v := range c {
			maxCount = max(maxCount, v)
		}
	}
	sort.Strings(names)
	longest := 0
	for _, name := range names {
		longest = max(longest, textWidth(name))
	}
	barW = max(24, textWidth(strconv.Itoa(maxCount))+4)
	groupW := len(names)*barW + dsGap
	w = dsLeft + grades*groupW + dsLegendW + longest + 16
	w = max(w, textWidth("Grade distribution per labeler")+20)
	h = max(dsTop+dsPlotH+dsBottom, dsTop+len(names)*(lineH+6)+10)
	return w, h, barW, grades, maxCount, names
}

// niceCeil rounds x up to 1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6 or 8 times a power
// of ten (the axis shows quarters of it).
func niceCeil(x int) int {
	if x <= 0 {
		return 1
	}
	p := 1
	for p*10 < x {
		p *= 10
	}
	for _, m := range []int{10, 12, 16, 20, 24, 30, 40, 50, 60, 80, 100} {
		if v := m * p / 10; v*10 == m*p && v >= x {
			return v
		}
	}
	return 10 * p
}

// WriteDistributionPNG draws, for every grade (numbered from minGrade), one
// bar per labeler with the number of pairs that labeler gave that grade.
// counts maps labeler name -> count per grade; labelers are sorted by name
// and listed in a legend.
func WriteDistributionPNG(path string, counts map[string][]int, minGrade int) error {
	if len(counts) == 0 {
		return errors.New("benchmark: no labelers to plot")
	}
	for name, c := range counts {
		for _, v := range c {
			if v < 0 {
				return fmt.Errorf("benchmark: negative count %d for labeler %q", v, name)
			}
		}
	}
	w, h, barW, grades, maxCount, names := distributionLayout(counts)
	if grades == 0 {
		return errors.New("benchmark: no grades to plot")
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(img, img.Bounds(), colWhite)
	drawText(img, 10, 8+ascentH, "Grade distribution per labeler", colBlack)

	top, base := dsTop, dsTop+dsPlotH
	scale := niceCeil(maxCount)
	groupW := len(names)*barW + dsGap
	plotRight := dsLeft + grades*groupW
	// Horizontal grid lines with their values.
	for t := 0; t <= 4; t++ {
		y := base - t*(dsPlotH-16)/4
		v := scale * t / 4
		for x := dsLeft; x < plotRight; x++ {
			img.Set(x, y, colLight)
		}
		s := strconv.Itoa(v)
		drawText(img, dsLeft-6-textWidth(s), y+4, s, colGrey)
	}
	for g := 0; g < grades; g++ {
		x0 := dsLeft + g*groupW + dsGap/2
		for li, name := range names {
			c := 0
			if g < len(counts[name]) {
				c = counts[name][g]
			}
			bh := c * (dsPlotH - 16) / scale
			r := image.Rect(x0+li*barW+1, base-bh, x0+(li+1)*barW-1, base)
			fillRect(img, r, palette[li%len(palette)])
			drawCentered(img, (r.Min.X+r.Max.X)/2, base-bh-8, strconv.Itoa(c), colBlack)
		}
		drawCentered(img, x0+len(names)*barW/2, base+12, strconv.Itoa(minGrade+g), colBlack)
	}
	for x := dsLeft; x < plotRight; x++ {
		img.Set(x, base, colBlack)
	}
	for y := top; y <= base; y++ {
		img.Set(dsLeft, y, colBlack)
	}
	drawCentered(img, dsLeft+(plotRight-dsLeft)/2, base+32, "grade", colGrey)
	// Legend.
	lx := plotRight + 12
	for li, name := range names {
		y := top + li*(lineH+6)
		fillRect(img, image.Rect(lx, y, lx+12, y+12), palette[li%len(palette)])
		drawText(img, lx+18, y+10, name, colBlack)
	}
	return writePNG(path, img)
}
