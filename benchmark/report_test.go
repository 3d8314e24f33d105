package benchmark

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func decodeSize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	return b.Dx(), b.Dy()
}

func TestWriteHeatmapPNG(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("QRELBENCH_PNG_DIR"); d != "" {
		dir = d // keep the images to look at them
	}
	conf := [][]int{{812, 201, 52, 11}, {190, 230, 98, 25}, {40, 88, 120, 48}, {5, 21, 60, 122}}
	path := filepath.Join(dir, "heatmap.png")
	if err := WriteHeatmapPNG(path, conf, "human", "gpt-4o", 0); err != nil {
		t.Fatal(err)
	}
	// Layout: left = strip 22 + 1 digit * 7 + 12 = 41; grid 4*64 = 256;
	// right 16 -> 313 wide unless the title is wider: "Confusion: human
	// (rows) vs gpt-4o (columns)" is 43 chars * 7 + 20 = 321.
	// Height: top 74 + 256 + bottom 30 = 360.
	if w, h := decodeSize(t, path); w != 321 || h != 360 {
		t.Errorf("heatmap %dx%d, want 321x360", w, h)
	}
	if err := WriteHeatmapPNG(filepath.Join(dir, "bad.png"), [][]int{{1, 2}, {3}}, "a", "b", 0); err == nil {
		t.Error("ragged matrix accepted")
	}
	if err := WriteHeatmapPNG(filepath.Join(dir, "bad.png"), nil, "a", "b", 0); err == nil {
		t.Error("empty matrix accepted")
	}
}

func TestWriteDistributionPNG(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("QRELBENCH_PNG_DIR"); d != "" {
		dir = d
	}
	counts := map[string][]int{
		"human":  {1076, 543, 296, 208},
		"gpt-4o": {700, 610, 520, 293},
		"llama3": {902, 400, 500, 321},
	}
	path := filepath.Join(dir, "distribution.png")
	if err := WriteDistributionPNG(path, counts, 0); err != nil {
		t.Fatal(err)
	}
	// Bar width max(24, 4 digits*7+4) = 32; group 3*32+24 = 120;
	// width 64 + 4*120 + 40 + "gpt-4o"/"llama3" 6*7 = 42 + 16 = 642;
	// height 40 + 220 + 44 = 304.
	if w, h := decodeSize(t, path); w != 642 || h != 304 {
		t.Errorf("distribution %dx%d, want 642x304", w, h)
	}
	if err := WriteDistributionPNG(filepath.Join(dir, "bad.png"), nil, 0); err == nil {
		t.Error("no labelers accepted")
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[int]int{0: 1, 1: 1, 3: 3, 7: 8, 10: 10, 11: 12, 21: 24, 26: 30, 1076: 1200, 2400: 2400, 99999: 100000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", in, got, want)
		}
	}
}
