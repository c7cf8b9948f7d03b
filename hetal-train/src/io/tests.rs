use super::model::{Model, ModelMeta};
use super::*;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hetal-io-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], data: &[T]) {
    use npyz::WriterBuilder;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(std::fs::File::create(path).unwrap())
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
}

#[test]
fn npy_and_csv_inputs_are_read_and_checked() {
    let d = dir("inputs");
    let x = d.join("x.npy");
    write_npy(&x, &[2, 3], &[1f32, 2.0, 3.0, 4.0, 5.0, 6.5]);
    let m = read_features(&x, Some(3)).unwrap();
    assert_eq!(m.row(1), &[4.0, 5.0, 6.5]);
    let err = read_features(&x, Some(4)).unwrap_err().to_string();
    assert!(err.contains("x.npy") && err.contains("3 features"), "{err}");
    let nan = d.join("nan.npy");
    write_npy(&nan, &[1, 2], &[1f64, f64::NAN]);
    let err = read_features(&nan, None).unwrap_err().to_string();
    assert!(err.contains("non-finite value at row 0, column 1"), "{err}");
    let one_d = d.join("flat.npy");
    write_npy(&one_d, &[3], &[1f64, 2.0, 3.0]);
    assert!(read_features(&one_d, None)
        .unwrap_err()
        .to_string()
        .contains("expected a 2-D array"));
    let y = d.join("y.npy");
    write_npy(&y, &[2], &[0i64, 2]);
    assert_eq!(read_labels(&y, 3).unwrap(), vec![0, 2]);
    let err = read_labels(&y, 2).unwrap_err().to_string();
    assert!(err.contains("label 2 at row 1 is outside 0..2"), "{err}");
    assert!(read_labels(&x, 3).unwrap_err().to_string().contains("1-D"));
    let yf = d.join("yf.npy");
    write_npy(&yf, &[2], &[0f64, 1.0]);
    assert!(read_labels(&yf, 3)
        .unwrap_err()
        .to_string()
        .contains("dtype"));
    let garbage = d.join("g.npy");
    std::fs::write(&garbage, b"\x93NUMPY garbage").unwrap();
    assert!(read_features(&garbage, None)
        .unwrap_err()
        .to_string()
        .contains("not a valid .npy"));
    // CSV.
    let xc = d.join("x.csv");
    std::fs::write(&xc, "1,2,3\n4, 5 ,6\n").unwrap();
    assert_eq!(
        read_features(&xc, Some(3)).unwrap().row(1),
        &[4.0, 5.0, 6.0]
    );
    std::fs::write(&xc, "1,2,3\n4,5\n").unwrap();
    let err = read_features(&xc, None).unwrap_err().to_string();
    assert!(err.contains("line 2: 2 fields, expected 3"), "{err}");
    std::fs::write(&xc, "1,2,x\n").unwrap();
    assert!(read_features(&xc, None)
        .unwrap_err()
        .to_string()
        .contains("`x`"));
    let yc = d.join("y.csv");
    std::fs::write(&yc, "1\n0\n").unwrap();
    assert_eq!(read_labels(&yc, 2).unwrap(), vec![1, 0]);
    std::fs::write(&yc, "1\n-1\n").unwrap();
    assert!(read_labels(&yc, 2)
        .unwrap_err()
        .to_string()
        .contains("label -1"));
    assert!(read_features(&d.join("x.txt"), None)
        .unwrap_err()
        .to_string()
        .contains("unknown file type"));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn models_round_trip_and_atomic_writes_leave_no_temporary() {
    let d = dir("model");
    let model = Model {
        weights: Matrix::from_fn(3, 3, |r, c| (r * 3 + c) as f64 - 4.0),
        meta: ModelMeta {
            preset: "INSECURE-n10".into(),
            classes: 3,
            features: 2,
            epochs: 2,
            iterations: 8,
            best_epoch: 2,
            validation_losses: vec![1.0, 0.5],
        },
    };
    model.write(&d).unwrap();
    let back = Model::read(&d).unwrap();
    assert_eq!(back, model);
    let x = Matrix::new(1, 2, vec![1.0, 0.0]).unwrap();
    // Logits: class k = w[k][0] + w[k][2] = (3k - 4) + (3k - 2).
    assert_eq!(back.logits(&x).row(0), &[-6.0, 0.0, 6.0]);
    assert_eq!(back.predict(&x), vec![2]);
    let names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.contains("tmp")), "{names:?}");
    let secret = d.join("s");
    write_atomic_mode(&secret, Some(0o600), |f| f.write_all(b"x")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::remove_dir_all(&d).unwrap();
}
