//! Medians, min–max, ratios, and the Markdown tables.

use serde::Serialize;

use crate::procs::Impl;

/// Median and range of one figure over the trials that produced it.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Trials that produced the figure.
    pub n: usize,
    /// Trials run.
    pub of: usize,
    /// Sum over the trials (shown for counts, where a median of 0 can hide rare events).
    pub sum: f64,
}

pub fn stat(values: &[Option<f64>]) -> Option<Stat> {
    let mut v: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Stat {
        sum: v.iter().sum(),
        median,
        min: v[0],
        max: v[n - 1],
        n,
        of: values.len(),
    })
}

/// One line of a comparison table.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub section: String,
    pub figure: String,
    pub unit: String,
    pub vedette: Option<Stat>,
    pub redis_sentinel: Option<Stat>,
    /// vedette median / redis-sentinel median.
    pub ratio: Option<f64>,
    #[serde(skip)]
    pub decimals: usize,
}

impl Row {
    pub fn new(
        section: &str,
        figure: &str,
        unit: &str,
        decimals: usize,
        v: Option<Stat>,
        r: Option<Stat>,
    ) -> Row {
        let ratio = match (v, r) {
            (Some(v), Some(r)) if r.median.abs() > f64::EPSILON => Some(v.median / r.median),
            _ => None,
        };
        Row {
            section: section.into(),
            figure: figure.into(),
            unit: unit.into(),
            vedette: v,
            redis_sentinel: r,
            ratio,
            decimals,
        }
    }

    pub fn get(&self, imp: Impl) -> Option<Stat> {
        match imp {
            Impl::Vedette => self.vedette,
            Impl::Redis => self.redis_sentinel,
        }
    }
}

fn fmt_num(x: f64, d: usize) -> String {
    format!("{x:.d$}")
}

/// A figure of a progress line: `x` to `d` decimals, `-` when it was not measured.
pub fn or_dash(x: Option<f64>, d: usize) -> String {
    x.map_or_else(|| "-".into(), |x| fmt_num(x, d))
}

/// The end of a progress line: `; ERROR: …` when the run failed, nothing otherwise.
pub fn error_tail(error: Option<&str>) -> String {
    error.map(|e| format!("; ERROR: {e}")).unwrap_or_default()
}

fn fmt_stat(s: Option<Stat>, d: usize, unit: &str) -> String {
    match s {
        None => "–".into(),
        Some(s) => {
            let mut out = if s.n == 1 || (s.min - s.max).abs() < f64::EPSILON {
                fmt_num(s.median, d)
            } else {
                format!(
                    "{} [{}–{}]",
                    fmt_num(s.median, d),
                    fmt_num(s.min, d),
                    fmt_num(s.max, d)
                )
            };
            if unit == "count" && s.max > 0.0 && s.n > 1 {
                out.push_str(&format!(", total {}", fmt_num(s.sum, d)));
            }
            if s.n < s.of {
                out.push_str(&format!(" (n={}/{})", s.n, s.of));
            }
            out
        }
    }
}

/// A Markdown table of `rows`: median [min–max] per implementation and the ratio.
pub fn markdown(rows: &[Row]) -> String {
    let mut out =
        String::from("| figure | unit | vedette | redis-sentinel | vedette / redis-sentinel |\n");
    out.push_str("|---|---|---|---|---|\n");
    for r in rows {
        let ratio = r.ratio.map_or("–".to_string(), |x| format!("{x:.2}"));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.figure,
            r.unit,
            fmt_stat(r.vedette, r.decimals, &r.unit),
            fmt_stat(r.redis_sentinel, r.decimals, &r.unit),
            ratio
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max_and_missing_values() {
        let s = stat(&[Some(3.0), None, Some(1.0), Some(2.0), Some(10.0)]).expect("values");
        assert_eq!((s.median, s.min, s.max, s.n, s.of), (2.5, 1.0, 10.0, 4, 5));
        assert_eq!(s.sum, 16.0);
        assert!(stat(&[None, None]).is_none());
        assert_eq!(stat(&[Some(5.0)]).map(|s| s.median), Some(5.0));
    }

    #[test]
    fn markdown_shows_ranges_totals_and_gaps() {
        let v = stat(&[Some(0.0), Some(0.0), Some(3.0)]);
        let r = stat(&[Some(1000.0), Some(2000.0), None]);
        let rows = [
            Row::new("s", "spurious", "count", 0, v, v),
            Row::new("s", "switch", "ms", 0, v, r),
        ];
        let md = markdown(&rows);
        assert!(
            md.contains("| spurious | count | 0 [0–3], total 3 | 0 [0–3], total 3 | – |"),
            "{md}"
        );
        assert!(
            md.contains("| switch | ms | 0 [0–3] | 1500 [1000–2000] (n=2/3) | 0.00 |"),
            "{md}"
        );
    }
}
