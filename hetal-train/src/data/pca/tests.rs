use super::*;
use crate::reproducible::Xorshift;

/// Orthonormal directions in R^5 (rows of thirds).
const U: [[f64; 5]; 3] = [
    [1.0, 2.0, 0.0, 2.0, 0.0],
    [2.0, 1.0, 0.0, -2.0, 0.0],
    [2.0, -2.0, 0.0, 1.0, 0.0],
];
const MEAN: [f64; 5] = [1.0, -2.0, 0.5, 3.0, 7.0];

/// Four samples `μ + a·u1 + b·u2 + c·u3` with zero-mean, mutually
/// orthogonal coefficient columns: the sample covariance is exactly
/// `12·u1u1ᵀ + (16/3)·u2u2ᵀ + (4/3)·u3u3ᵀ`.
fn designed() -> Matrix {
    let coefficients = [
        [3.0, 2.0, 1.0],
        [-3.0, 2.0, -1.0],
        [3.0, -2.0, -1.0],
        [-3.0, -2.0, 1.0],
    ];
    Matrix::from_fn(4, 5, |r, c| {
        MEAN[c]
            + (0..3)
                .map(|k| coefficients[r][k] * U[k][c] / 3.0)
                .sum::<f64>()
    })
}

fn sum_sq(m: &Matrix) -> f64 {
    m.data().iter().map(|v| v * v).sum()
}

#[test]
fn known_principal_directions_are_recovered() {
    let x = designed();
    let fit = Projection::fit(&x, 2).unwrap();
    let p = &fit.projection;
    for (got, want) in p.mean.iter().zip(MEAN) {
        assert!((got - want).abs() < 1e-14);
    }
    assert!(
        (fit.variances[0] - 12.0).abs() < 1e-12,
        "{:?}",
        fit.variances
    );
    assert!((fit.variances[1] - 16.0 / 3.0).abs() < 1e-12);
    assert!((fit.total_variance - 56.0 / 3.0).abs() < 1e-12);
    assert!((fit.explained_variance() - 13.0 / 14.0).abs() < 1e-13);
    // The components are u1 and u2, signed by their largest entry.
    for (k, u) in U.iter().take(2).enumerate() {
        for (c, &want) in u.iter().enumerate() {
            assert!(
                (p.components.row(k)[c] - want / 3.0).abs() < 1e-12,
                "component {k}"
            );
        }
    }
    // Projected rows are the coefficients a, b; reconstructing leaves c·u3,
    // whose squared norm over n − 1 is the variance left out (4/3).
    let y = p.apply(&x).unwrap();
    assert!((y.row(1)[0] + 3.0).abs() < 1e-12 && (y.row(1)[1] - 2.0).abs() < 1e-12);
    let back = p.reconstruct(&y).unwrap();
    let residual = Matrix::from_fn(4, 5, |r, c| x.row(r)[c] - back.row(r)[c]);
    assert!((sum_sq(&residual) / 3.0 - 4.0 / 3.0).abs() < 1e-12);
    // The full width reconstructs exactly.
    let full = Projection::fit(&x, 5).unwrap().projection;
    let exact = full.reconstruct(&full.apply(&x).unwrap()).unwrap();
    assert!(exact.max_abs_diff(&x).unwrap() < 1e-12);
}

#[test]
fn a_random_fit_agrees_with_a_direct_computation() {
    let mut rng = Xorshift::new(21);
    let (rows, features, width) = (300, 40, 8);
    // Features with decaying scales, correlated through a random mixing.
    let raw = Matrix::from_fn(rows, features, |_, c| {
        rng.symmetric() * 0.8f64.powi(c as i32)
    });
    let mix = Matrix::from_fn(features, features, |_, _| rng.symmetric());
    let x = raw.mul_bt(&mix).unwrap();
    let fit = Projection::fit(&x, width).unwrap();
    let y = fit.projection.apply(&x).unwrap();
    // The variance of each projected column is the fitted variance, and the
    // projected columns are uncorrelated.
    for i in 0..width {
        for j in 0..width {
            let cov = (0..rows).map(|r| y.row(r)[i] * y.row(r)[j]).sum::<f64>() / (rows - 1) as f64;
            let want = if i == j { fit.variances[i] } else { 0.0 };
            assert!(
                (cov - want).abs() < 1e-9 * fit.variances[0],
                "({i}, {j}): {cov} vs {want}"
            );
        }
    }
    // Reconstruction error = the variance left out (Pythagoras).
    let back = fit.projection.reconstruct(&y).unwrap();
    let residual = Matrix::from_fn(rows, features, |r, c| x.row(r)[c] - back.row(r)[c]);
    let left_out = fit.total_variance - fit.variances.iter().sum::<f64>();
    let error = sum_sq(&residual) / (rows - 1) as f64;
    assert!(
        (error - left_out).abs() < 1e-9 * fit.total_variance,
        "{error} vs {left_out}"
    );
    assert!(fit.explained_variance() > 0.5 && fit.explained_variance() < 1.0);
    // No other unit direction holds more variance than the first component:
    // try the first components of wider fits and random directions.
    let first = fit.variances[0];
    for _ in 0..20 {
        let d: Vec<f64> = (0..features).map(|_| rng.symmetric()).collect();
        let norm = d.iter().map(|v| v * v).sum::<f64>().sqrt();
        let proj: Vec<f64> = (0..rows)
            .map(|r| {
                (0..features)
                    .map(|c| (x.row(r)[c] - fit.projection.mean[c]) * d[c] / norm)
                    .sum()
            })
            .collect();
        let var = proj.iter().map(|v| v * v).sum::<f64>() / (rows - 1) as f64;
        assert!(var <= first * (1.0 + 1e-12));
    }
}

#[test]
fn projections_round_trip_and_bad_inputs_are_typed_errors() {
    let x = designed();
    let p = Projection::fit(&x, 2).unwrap().projection;
    let stored = p.to_matrix();
    assert_eq!((stored.rows(), stored.cols()), (3, 5));
    assert_eq!(stored.row(0), &p.mean[..]);
    assert_eq!(Projection::from_matrix(&stored).unwrap(), p);

    assert_eq!(
        Projection::fit(&x, 0).unwrap_err(),
        PcaError::Width {
            width: 0,
            features: 5
        }
    );
    assert_eq!(
        Projection::fit(&x, 6).unwrap_err(),
        PcaError::Width {
            width: 6,
            features: 5
        }
    );
    let one = Matrix::new(1, 5, MEAN.to_vec()).unwrap();
    assert_eq!(
        Projection::fit(&one, 2).unwrap_err(),
        PcaError::TooFewSamples { rows: 1 }
    );
    let mut bad = x.clone();
    if let Some(v) = bad.get_mut(2, 3) {
        *v = f64::NAN;
    }
    assert_eq!(
        Projection::fit(&bad, 2).unwrap_err(),
        PcaError::NonFinite { row: 2, col: 3 }
    );
    assert_eq!(
        p.apply(&bad).unwrap_err(),
        PcaError::NonFinite { row: 2, col: 3 }
    );
    assert_eq!(
        p.apply(&Matrix::zeros(2, 4)).unwrap_err(),
        PcaError::Features { got: 4, want: 5 }
    );
    assert_eq!(
        p.reconstruct(&Matrix::zeros(2, 3)).unwrap_err(),
        PcaError::Features { got: 3, want: 2 }
    );
    // A matrix that is not a projection: components not orthogonal, or zero.
    let mut skewed = stored.clone();
    if let Some(v) = skewed.get_mut(2, 0) {
        *v += 0.1;
    }
    assert!(matches!(
        Projection::from_matrix(&skewed),
        Err(PcaError::NotOrthogonal { i: 0, j: 1, .. })
    ));
    let mut zero = stored.clone();
    for c in 0..5 {
        if let Some(v) = zero.get_mut(2, c) {
            *v = 0.0;
        }
    }
    assert!(matches!(
        Projection::from_matrix(&zero),
        Err(PcaError::NotOrthogonal { i: 1, j: 1, .. })
    ));
    assert!(matches!(
        Projection::from_matrix(&Matrix::zeros(1, 5)),
        Err(PcaError::Width { width: 0, .. })
    ));
}

#[test]
fn a_whitening_fit_gives_unit_variance_and_round_trips() {
    let x = designed();
    let fit = Projection::fit(&x, 3).unwrap();
    let ridge = 1e-3;
    let w = fit.whitened(ridge).unwrap();
    let y = w.apply(&x).unwrap();
    for k in 0..3 {
        let var = (0..y.rows()).map(|r| y.row(r)[k].powi(2)).sum::<f64>() / (y.rows() - 1) as f64;
        let v = fit.variances[k];
        assert!((var - v / (v + ridge)).abs() < 1e-9, "component {k}: {var}");
    }
    // Stored and read back (scaled components are still orthogonal), and
    // the reconstruction undoes the gains.
    let back = Projection::from_matrix(&w.to_matrix()).unwrap();
    assert_eq!(back, w);
    let plain = fit
        .projection
        .reconstruct(&fit.projection.apply(&x).unwrap())
        .unwrap();
    let undone = w.reconstruct(&y).unwrap();
    assert!(plain.max_abs_diff(&undone).unwrap() < 1e-9);
    assert_eq!(fit.whitened(0.0).unwrap_err(), PcaError::Ridge(0.0));
}
