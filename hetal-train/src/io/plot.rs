//! A small SVG line chart of the validation loss per epoch.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use super::{write_atomic, FileError};

/// Writes an SVG chart of `losses` (epoch 1 first), marking `best` (from 1).
pub fn write_loss_svg(path: &Path, losses: &[f64], best: usize) -> Result<(), FileError> {
    let (w, h, m) = (640.0, 400.0, 60.0);
    let finite: Vec<f64> = losses.iter().copied().filter(|x| x.is_finite()).collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (lo.min(0.0), lo.max(0.0) + 1.0)
    };
    let n = losses.len().max(2) - 1;
    let x = |i: usize| m + (w - 2.0 * m) * i as f64 / n as f64;
    let y = |v: f64| h - m - (h - 2.0 * m) * (v - lo) / (hi - lo);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{tx}" y="24" text-anchor="middle" font-size="16">validation loss per epoch</text>
<line x1="{m}" y1="{b}" x2="{r}" y2="{b}" stroke="black"/>
<line x1="{m}" y1="{m}" x2="{m}" y2="{b}" stroke="black"/>
<text x="{tx}" y="{lx}" text-anchor="middle">epoch</text>
<text x="8" y="{m}">{hi:.4}</text><text x="8" y="{b}">{lo:.4}</text>
"#,
        tx = w / 2.0,
        b = h - m,
        r = w - m,
        lx = h - 20.0,
    );
    let points: Vec<String> = losses
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| format!("{:.1},{:.1}", x(i), y(v)))
        .collect();
    let _ = writeln!(
        svg,
        r#"<polyline fill="none" stroke="steelblue" stroke-width="2" points="{}"/>"#,
        points.join(" ")
    );
    for (i, &v) in losses.iter().enumerate().filter(|(_, v)| v.is_finite()) {
        let colour = if i + 1 == best {
            "crimson"
        } else {
            "steelblue"
        };
        let _ = writeln!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"><title>epoch {}: {v:.5}</title></circle><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x(i),
            y(v),
            i + 1,
            x(i),
            h - m + 16.0,
            i + 1
        );
    }
    svg.push_str("</svg>\n");
    write_atomic(path, |f| f.write_all(svg.as_bytes()))
}
