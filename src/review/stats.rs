//! The statistics a review rests on: Wilson score intervals for a rate, and the
//! indirectly standardised comparison of a group with the whole team (its expected
//! deviations given the criteria it had opportunities at), from which the funnel
//! plot's control limits come.

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;
/// z for a two-sided 99.8% interval (the funnel plot's outer limit).
pub const Z998: f64 = 3.090_232_306_167_813_5;

/// The Wilson score interval for `d` deviations in `n` opportunities, at `z`.
/// `n == 0` gives `[0, 1]`: nothing is known.
pub fn wilson(d: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = d as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// A rate with its 95% Wilson interval, rounded for output.
pub fn rate(d: u64, n: u64) -> (Option<f64>, [f64; 2]) {
    let (lo, hi) = wilson(d, n, Z95);
    let r = (n > 0).then(|| round(d as f64 / n as f64));
    (r, [round(lo), round(hi)])
}

/// Four decimals: rates are shown as percentages with two.
pub fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The funnel plot's limits around the team rate `p` for `n` opportunities at `z`
/// (normal approximation to the binomial, clamped to `[0, 1]`).
pub fn funnel(p: f64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let half = z * (p * (1.0 - p) / n as f64).sqrt();
    ((p - half).max(0.0), (p + half).min(1.0))
}

/// Where a group stands against what its opportunities lead one to expect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    /// Deviations expected from the team's rate at each criterion, summed over the
    /// group's opportunities.
    pub expected: f64,
    /// Their variance (the sum of `p(1-p)` per opportunity).
    pub variance: f64,
}

/// One-sided tail probability a flag at the 99.8% funnel limit stands for.
pub const P998: f64 = 0.001;
/// One-sided tail probability of the 95% limit.
pub const P95: f64 = 0.025;

/// P(X ≥ k) for X Poisson with mean `m`.
pub fn poisson_at_least(k: u64, m: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    1.0 - poisson_at_most(k - 1, m)
}

/// P(X ≤ k) for X Poisson with mean `m` (terms summed in order; `k` is a count of
/// deviations, so the loop is bounded by the data).
pub fn poisson_at_most(k: u64, m: f64) -> f64 {
    if m <= 0.0 {
        return 1.0;
    }
    let mut term = (-m).exp();
    let mut sum = term;
    for i in 1..=k {
        term *= m / i as f64;
        sum += term;
        if term < 1e-300 && i as f64 > m {
            break;
        }
    }
    sum.min(1.0)
}

/// The standard normal's upper tail, P(Z ≥ z) (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7).
pub fn normal_upper(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = y * (-x * x).exp();
    if z >= 0.0 {
        erfc / 2.0
    } else {
        1.0 - erfc / 2.0
    }
}

impl Standing {
    /// One-sided probabilities of this many deviations or more, and this many or fewer,
    /// by chance at the team's rates: exact Poisson tails while the expected count is
    /// small (rare deviations, where the normal curve misleads), the normal with the
    /// binomial variance once it is 20 or more.
    pub fn tails(&self, observed: u64) -> (f64, f64) {
        if self.expected < 20.0 {
            (
                poisson_at_least(observed, self.expected),
                poisson_at_most(observed, self.expected),
            )
        } else {
            let z = self.z(observed);
            (normal_upper(z), normal_upper(-z))
        }
    }

    /// The tails with the variance multiplied by an overdispersion factor `phi` (> 1: the
    /// groups vary more than chance alone would make them; normal tails on the inflated
    /// variance). `phi <= 1` gives [`Standing::tails`].
    pub fn tails_over(&self, observed: u64, phi: f64) -> (f64, f64) {
        if phi <= 1.0 {
            return self.tails(observed);
        }
        let z = self.z(observed) / phi.sqrt();
        (normal_upper(z), normal_upper(-z))
    }

    /// (observed − expected) / sd; 0 when nothing varies.
    pub fn z(&self, observed: u64) -> f64 {
        if self.variance <= 0.0 {
            return 0.0;
        }
        (observed as f64 - self.expected) / self.variance.sqrt()
    }
}

/// The overdispersion factor of a set of groups' z-scores (Spiegelhalter 2005): the mean
/// of z² after the most extreme 10% at each end are pulled in to the 10th and 90th
/// percentiles (so a few true outliers do not hide themselves), at least 1. Fewer than
/// ten groups give 1: too few to tell chance from spread.
pub fn overdispersion(zs: &[f64]) -> f64 {
    let k = zs.len();
    if k < 10 {
        return 1.0;
    }
    let mut v: Vec<f64> = zs.iter().copied().filter(|z| z.is_finite()).collect();
    if v.len() < 10 {
        return 1.0;
    }
    v.sort_by(f64::total_cmp);
    let lo = v[v.len() / 10];
    let hi = v[v.len() - 1 - v.len() / 10];
    let phi = v.iter().map(|z| z.clamp(lo, hi).powi(2)).sum::<f64>() / v.len() as f64;
    phi.max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook_values() {
        // 10 of 100 at 95%: [0.0552, 0.1744] (Newcombe 1998, method 3).
        let (lo, hi) = wilson(10, 100, Z95);
        assert!((lo - 0.0552).abs() < 1e-4, "{lo}");
        assert!((hi - 0.1744).abs() < 1e-4, "{hi}");
        // 0 of 20: the lower bound is 0, the upper 0.1611.
        let (lo, hi) = wilson(0, 20, Z95);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.1611).abs() < 1e-4, "{hi}");
        assert_eq!(wilson(0, 0, Z95), (0.0, 1.0));
    }

    #[test]
    fn tails_are_exact_for_rare_deviations() {
        // Poisson(1): P(X >= 3) = 1 - e^-1 (1 + 1 + 1/2) = 0.0803.
        assert!((poisson_at_least(3, 1.0) - 0.080_301_4).abs() < 1e-6);
        assert!((poisson_at_most(0, 2.0) - (-2.0f64).exp()).abs() < 1e-12);
        assert!((normal_upper(1.959_964) - 0.025).abs() < 1e-6);
        assert!((normal_upper(-3.090_232) - 0.999).abs() < 1e-6);
        // One deviation where 0.1 were expected is not remarkable at the 99.8% limit.
        let s = Standing {
            expected: 0.1,
            variance: 0.099,
        };
        assert!(s.tails(1).0 > P998);
        assert!(s.tails(3).0 < P998);
    }

    #[test]
    fn overdispersion_is_one_for_chance_spread_and_more_for_real_spread() {
        // z-scores of chance alone: phi stays 1.
        let chance: Vec<f64> = (0..40).map(|i| ((i % 7) as f64 - 3.0) / 3.0).collect();
        assert_eq!(overdispersion(&chance), 1.0);
        // Spread three times wider: phi near 9 times the chance variance.
        let wide: Vec<f64> = chance.iter().map(|z| z * 6.0).collect();
        assert!(overdispersion(&wide) > 4.0);
        assert_eq!(overdispersion(&wide[..5]), 1.0);
    }

    #[test]
    fn funnel_limits_narrow_with_n() {
        let (lo20, hi20) = funnel(0.1, 20, Z95);
        let (lo200, hi200) = funnel(0.1, 200, Z95);
        assert!(hi20 > hi200 && lo20 < lo200);
        assert!((hi200 - (0.1 + Z95 * (0.09f64 / 200.0).sqrt())).abs() < 1e-12);
    }
}
