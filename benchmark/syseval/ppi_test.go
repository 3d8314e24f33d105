package syseval

import (
	"math"
	"testing"

	"github.com/qrelbench/qrelbench/benchmark/stat"
)

func TestPPIMeanByHand(t *testing.T) {
	// U: model 1, 2, 3 (mean 2, var 1); H: model 1, 2, human 2, 4
	// (differences 1, 2: mean 1.5, var 0.5).
	p, err := PPIMean([]float64{1, 2, 3}, []float64{1, 2}, []float64{2, 4})
	if err != nil {
		t.Fatal(err)
	}
	half := stat.Z975 * math.Sqrt(1.0/3+0.5/2)
	if !near(p.Estimate, 3.5) || !near(p.CI[0], 3.5-half) || !near(p.CI[1], 3.5+half) {
		t.Errorf("ppi %+v, want 3.5 ± %v", p.Interval, half)
	}
	// Human only: mean 3, sd √2, t(0.975, 1) = 12.706…
	hh := 12.706204736174707 * math.Sqrt(2.0/2)
	if !near(p.HumanOnly.Estimate, 3) || math.Abs(p.HumanOnly.CI[1]-(3+hh)) > 1e-9 {
		t.Errorf("human only %+v, want 3 ± %v", p.HumanOnly, hh)
	}
	if p.N != 3 || p.Humans() != 2 {
		t.Errorf("N %d n %d", p.N, p.Humans())
	}
}

func TestPPIRemovesModelBias(t *testing.T) {
	// The model overrates every query by 0.2: the correction removes it.
	human := []float64{0.1, 0.5, 0.3, 0.7, 0.2, 0.4}
	model := make([]float64, len(human))
	for i, h := range human {
		model[i] = h + 0.2
	}
	p, err := PPIMean(model[2:], model[:2], human[:2])
	if err != nil {
		t.Fatal(err)
	}
	// A constant bias is removed exactly: the estimate is the human mean
	// over U, where no human grade was used.
	if want := (0.3 + 0.7 + 0.2 + 0.4) / 4; !near(p.Estimate, want) {
		t.Errorf("estimate %v, want %v", p.Estimate, want)
	}
	// The differences are constant, so the interval is var_U/N alone.
	_, vu := stat.MeanVar(model[2:])
	if half := stat.Z975 * math.Sqrt(vu/4); !near(p.CI[1]-p.Estimate, half) {
		t.Errorf("half-width %v, want %v", p.CI[1]-p.Estimate, half)
	}
}

func TestPPIForSystemAndErrors(t *testing.T) {
	model := result("s", series(0.5, 0.6, 0.7, 0.2, 0.9))
	human := result("s", map[string]float64{"q0": 0.4, "q1": 0.4})
	p, err := PPIForSystem(model, human, "m")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := PPIMean([]float64{0.7, 0.2, 0.9}, []float64{0.5, 0.6}, []float64{0.4, 0.4})
	if p != want {
		t.Errorf("%+v, want %+v", p, want)
	}
	if _, err := PPIForSystem(model, result("other", nil), "m"); err == nil {
		t.Error("different systems accepted")
	}
	if _, err := PPIMean([]float64{1, 2}, []float64{1}, []float64{1}); err == nil {
		t.Error("n = 1 accepted")
	}
	if _, err := PPIMean([]float64{1}, []float64{1, 2}, []float64{1, 2}); err == nil {
		t.Error("N = 1 accepted")
	}
	if _, err := PPIMean([]float64{1, 2}, []float64{1, 2}, []float64{1}); err == nil {
		t.Error("mismatched H accepted")
	}
	if _, err := PPIMean([]float64{1, math.NaN()}, []float64{1, 2}, []float64{1, 2}); err == nil {
		t.Error("NaN accepted")
	}
}
