//! `hetal extract pca`: an optional client-side projection of extracted
//! features to fewer dimensions (PCA fitted on the client's own training
//! features), so that a batch takes fewer ciphertexts and an iteration fewer
//! rotations. The same projection must then be applied to the validation
//! and test features: a fit writes it, `--projection` applies it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::ExtractError;
use crate::data::pca::{PcaError, Projection};
use crate::io::{read_features, read_npy_matrix, write_npy, write_npy_matrix};

/// What `hetal extract pca` does.
#[derive(Debug, Clone, PartialEq)]
pub enum PcaMode {
    /// Fit a projection to this width and write it to `out_projection`.
    Fit {
        /// Output width.
        width: usize,
        /// Where the projection goes (`.npy`, f64, `(width + 1) × features`:
        /// the mean, then the components).
        out_projection: PathBuf,
        /// Whitening ridge: with one, each component is divided by
        /// `sqrt(variance + ridge)` ([`crate::data::pca::Fit::whitened`]).
        whiten: Option<f64>,
    },
    /// Apply the projection stored in this file.
    Apply(PathBuf),
}

/// A PCA job.
#[derive(Debug, Clone, PartialEq)]
pub struct PcaJob {
    /// Input features (`.npy` or CSV, rows × features).
    pub features: PathBuf,
    /// Fit or apply.
    pub mode: PcaMode,
    /// Output features (`.npy`, f32, rows × width).
    pub out_features: PathBuf,
}

/// What a PCA job did (printed as one JSON line by the CLI).
#[derive(Debug, Clone, Serialize)]
pub struct PcaSummary {
    /// `"pca"`.
    pub kind: &'static str,
    /// Rows projected.
    pub rows: usize,
    /// Input width.
    pub features: usize,
    /// Output width.
    pub width: usize,
    /// Share of the fitted data's variance the projection keeps (fits only).
    pub explained_variance: Option<f64>,
    /// The whitening ridge of a whitening fit.
    pub whiten: Option<f64>,
    /// Seconds spent fitting and projecting.
    pub seconds: f64,
    /// The projected features.
    pub out_features: PathBuf,
    /// The projection written or applied.
    pub projection: PathBuf,
}

fn pca_error(path: &Path) -> impl Fn(PcaError) -> ExtractError + '_ {
    move |source| ExtractError::Pca {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs a PCA job.
pub fn run_pca(job: &PcaJob) -> Result<PcaSummary, ExtractError> {
    let x = read_features(&job.features, None)?;
    let start = Instant::now();
    let (projection, explained, path) = match &job.mode {
        PcaMode::Fit {
            width,
            out_projection,
            whiten,
        } => {
            let fit = Projection::fit(&x, *width).map_err(pca_error(&job.features))?;
            let projection = match whiten {
                Some(ridge) => fit.whitened(*ridge).map_err(pca_error(&job.features))?,
                None => fit.projection.clone(),
            };
            write_npy_matrix(out_projection, &projection.to_matrix())?;
            let explained = fit.explained_variance();
            (projection, Some(explained), out_projection.clone())
        }
        PcaMode::Apply(path) => {
            let stored = read_npy_matrix(path)?;
            let projection = Projection::from_matrix(&stored).map_err(pca_error(path))?;
            (projection, None, path.clone())
        }
    };
    let y = projection.apply(&x).map_err(pca_error(&job.features))?;
    let seconds = start.elapsed().as_secs_f64();
    let values: Vec<f32> = y.data().iter().map(|&v| v as f32).collect();
    write_npy(
        &job.out_features,
        &[y.rows() as u64, y.cols() as u64],
        &values,
    )?;
    Ok(PcaSummary {
        kind: "pca",
        rows: y.rows(),
        features: x.cols(),
        width: y.cols(),
        explained_variance: explained,
        whiten: match job.mode {
            PcaMode::Fit { whiten, .. } => whiten,
            PcaMode::Apply(_) => None,
        },
        seconds,
        out_features: job.out_features.clone(),
        projection: path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use crate::io::FileError;
    use crate::linalg::Matrix;
    use clap::Parser;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hetal-pca-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Rows `10 + a·(1, 1, 0) + b·(1, −1, 0) + z·(0, 0, 1)` with the
    /// coefficient columns `a` (a ramp), `b` and `z` (sign patterns)
    /// centred and mutually orthogonal: the principal directions are
    /// exactly (1, 1, 0)/√2, (1, −1, 0)/√2 and (0, 0, 1).
    fn features(rows: usize) -> Matrix {
        const B: [f64; 8] = [1.0, -1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0];
        const Z: [f64; 8] = [1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0];
        Matrix::from_fn(rows, 3, |r, c| {
            let a = r as f64 - (rows as f64 - 1.0) / 2.0;
            let (b, z) = (0.3 * B[r % 8], 0.01 * Z[r % 8]);
            10.0 + [a + b, a - b, z][c]
        })
    }

    #[test]
    fn a_fit_is_written_and_applied_again() {
        let dir = scratch("fit");
        let x = dir.join("X.npy");
        write_npy_matrix(&x, &features(40)).unwrap();
        let fit_job = PcaJob {
            features: x.clone(),
            mode: PcaMode::Fit {
                width: 2,
                out_projection: dir.join("P.npy"),
                whiten: None,
            },
            out_features: dir.join("Xp.npy"),
        };
        let summary = run_pca(&fit_job).unwrap();
        assert_eq!((summary.rows, summary.features, summary.width), (40, 3, 2));
        let explained = summary.explained_variance.unwrap();
        assert!(explained > 0.9999 && explained < 1.0, "{explained}");
        let stored = read_npy_matrix(&dir.join("P.npy")).unwrap();
        assert_eq!((stored.rows(), stored.cols()), (3, 3));
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((stored.row(1)[0] - h).abs() < 1e-12 && (stored.row(1)[1] - h).abs() < 1e-12);
        let projected = read_npy_matrix(&dir.join("Xp.npy")).unwrap();
        assert_eq!((projected.rows(), projected.cols()), (40, 2));

        // Applying the saved projection to the same rows gives the same output.
        let apply_job = PcaJob {
            features: x.clone(),
            mode: PcaMode::Apply(dir.join("P.npy")),
            out_features: dir.join("Xq.npy"),
        };
        let again = run_pca(&apply_job).unwrap();
        assert_eq!(again.explained_variance, None);
        assert_eq!(read_npy_matrix(&dir.join("Xq.npy")).unwrap(), projected);

        // A whitening fit: unit variance along both kept directions (their
        // variances are far above the ridge), and its file applies again.
        let white = PcaJob {
            mode: PcaMode::Fit {
                width: 2,
                out_projection: dir.join("W.npy"),
                whiten: Some(1e-9),
            },
            out_features: dir.join("Xw.npy"),
            ..fit_job.clone()
        };
        assert_eq!(run_pca(&white).unwrap().whiten, Some(1e-9));
        let xw = read_npy_matrix(&dir.join("Xw.npy")).unwrap();
        for k in 0..2 {
            let var = (0..40).map(|r| xw.row(r)[k].powi(2)).sum::<f64>() / 39.0;
            assert!((var - 1.0).abs() < 1e-5, "direction {k}: variance {var}");
        }
        run_pca(&PcaJob {
            mode: PcaMode::Apply(dir.join("W.npy")),
            out_features: dir.join("Xv.npy"),
            ..apply_job.clone()
        })
        .unwrap();
        assert_eq!(read_npy_matrix(&dir.join("Xv.npy")).unwrap(), xw);
        let err = run_pca(&PcaJob {
            mode: PcaMode::Fit {
                width: 2,
                out_projection: dir.join("bad.npy"),
                whiten: Some(-1.0),
            },
            ..fit_job.clone()
        })
        .unwrap_err();
        assert!(matches!(
            err,
            ExtractError::Pca {
                source: PcaError::Ridge(_),
                ..
            }
        ));

        // Features of another width, or a file that is not a projection, are
        // typed errors naming the file.
        let narrow = dir.join("narrow.npy");
        write_npy_matrix(&narrow, &Matrix::zeros(2, 4)).unwrap();
        let err = run_pca(&PcaJob {
            features: narrow.clone(),
            ..apply_job.clone()
        })
        .unwrap_err();
        assert!(matches!(
            err,
            ExtractError::Pca { ref path, source: PcaError::Features { got: 4, want: 3 } } if *path == narrow
        ));
        let skew = dir.join("skew.npy");
        write_npy_matrix(&skew, &Matrix::from_fn(3, 3, |_, _| 0.5)).unwrap();
        let err = run_pca(&PcaJob {
            mode: PcaMode::Apply(skew.clone()),
            ..apply_job.clone()
        })
        .unwrap_err();
        assert!(
            err.to_string().starts_with(&skew.display().to_string()),
            "{err}"
        );
        assert!(err.to_string().contains("not a projection"), "{err}");
        let err = run_pca(&PcaJob {
            mode: PcaMode::Fit {
                width: 4,
                out_projection: dir.join("P4.npy"),
                whiten: None,
            },
            ..fit_job.clone()
        })
        .unwrap_err();
        assert!(matches!(
            err,
            ExtractError::Pca {
                source: PcaError::Width {
                    width: 4,
                    features: 3
                },
                ..
            }
        ));
        assert!(!dir.join("P4.npy").exists());
        let err = run_pca(&PcaJob {
            features: dir.join("missing.npy"),
            ..fit_job
        })
        .unwrap_err();
        assert!(matches!(err, ExtractError::File(FileError::Io { .. })));
        let err = run_pca(&PcaJob {
            mode: PcaMode::Apply(dir.join("Xp.npy")),
            ..apply_job
        })
        .unwrap_err();
        assert!(matches!(err, ExtractError::Pca { .. }), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_command_line_takes_a_fit_or_a_projection() {
        let parse = |args: &[&str]| {
            let mut all = vec![
                "hetal",
                "extract",
                "pca",
                "--features",
                "X.npy",
                "--out-features",
                "Y.npy",
            ];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).map(|_| ())
        };
        assert!(parse(&["--width", "8", "--out-projection", "P.npy"]).is_ok());
        assert!(parse(&["--projection", "P.npy"]).is_ok());
        assert!(parse(&[]).is_err());
        assert!(parse(&["--width", "8"]).is_err());
        assert!(parse(&["--projection", "P.npy", "--width", "8"]).is_err());
        let whiten = [
            "--width",
            "8",
            "--out-projection",
            "P.npy",
            "--whiten",
            "0.1",
        ];
        assert!(parse(&whiten).is_ok());
        assert!(parse(&["--projection", "P.npy", "--whiten", "0.1"]).is_err());
    }
}
