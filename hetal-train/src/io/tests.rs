use super::model::{Model, ModelMeta};
use super::*;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hetal-io-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes with npyz, an independent implementation.
fn npyz_write<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], data: &[T]) {
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
    npyz_write(&x, &[2, 3], &[1f32, 2.0, 3.0, 4.0, 5.0, 6.5]);
    let m = read_features(&x, Some(3)).unwrap();
    assert_eq!(m.row(1), &[4.0, 5.0, 6.5]);
    let err = read_features(&x, Some(4)).unwrap_err().to_string();
    assert!(err.contains("x.npy") && err.contains("3 features"), "{err}");
    let nan = d.join("nan.npy");
    npyz_write(&nan, &[1, 2], &[1f64, f64::NAN]);
    let err = read_features(&nan, None).unwrap_err().to_string();
    assert!(err.contains("non-finite value at row 0, column 1"), "{err}");
    let one_d = d.join("flat.npy");
    npyz_write(&one_d, &[3], &[1f64, 2.0, 3.0]);
    assert!(read_features(&one_d, None)
        .unwrap_err()
        .to_string()
        .contains("expected a 2-D array"));
    let y = d.join("y.npy");
    npyz_write(&y, &[2], &[0i64, 2]);
    assert_eq!(read_labels(&y, 3).unwrap(), vec![0, 2]);
    let err = read_labels(&y, 2).unwrap_err().to_string();
    assert!(err.contains("label 2 at row 1 is outside 0..2"), "{err}");
    assert!(read_labels(&x, 3).unwrap_err().to_string().contains("1-D"));
    let yf = d.join("yf.npy");
    npyz_write(&yf, &[2], &[0f64, 1.0]);
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

/// A `.npy` file made by hand: `descr`, the shape tuple's text, the data.
fn raw_npy(descr: &str, shape: &str, fortran: bool, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': ({shape}), }}\n");
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

fn problem(result: Result<impl std::fmt::Debug, FileError>) -> Problem {
    match result {
        Err(FileError::Bad { problem, .. }) => problem,
        other => panic!("expected a content problem, got {other:?}"),
    }
}

#[test]
fn written_npy_files_are_numpy_files() {
    let d = dir("write");
    let x = d.join("x.npy");
    write_npy(&x, &[2, 3], &[1f32, 2.0, 3.0, 4.0, 5.0, -6.5]).unwrap();
    let bytes = std::fs::read(&x).unwrap();
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    assert_eq!((10 + header_len) % 64, 0, "data aligned to 64 bytes");
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
    assert!(header.ends_with(" \n"), "{header:?}");
    // An independent reader (npyz) agrees.
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[2, 3]);
    assert_eq!(
        npy.into_vec::<f32>().unwrap(),
        [1.0, 2.0, 3.0, 4.0, 5.0, -6.5]
    );
    assert_eq!(read_npy_matrix(&x).unwrap().row(1), &[4.0, 5.0, -6.5]);

    let y = d.join("y.npy");
    write_npy(&y, &[3], &[3i64, 0, -2]).unwrap();
    let bytes = std::fs::read(&y).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("'shape': (3,)"));
    assert_eq!(
        npyz::NpyFile::new(&bytes[..])
            .unwrap()
            .into_vec::<i64>()
            .unwrap(),
        [3, 0, -2]
    );
    assert_eq!(read_npy_labels(&y).unwrap(), [3, 0, -2]);

    let m = Matrix::from_fn(2, 2, |r, c| r as f64 - 0.25 * c as f64);
    write_npy_matrix(&x, &m).unwrap();
    assert_eq!(read_npy_matrix(&x).unwrap(), m);
    // NumPy's 64 dimensions at most: the header always fits version 1.0.
    let deep = d.join("deep.npy");
    write_npy(&deep, &[1; 64], &[5f64]).unwrap();
    let back = read_npy_f32(&deep).unwrap();
    assert_eq!((back.shape.len(), back.values), (64, vec![5.0]));
    assert!(matches!(
        problem(write_npy(&deep, &[1; 65], &[5f64])),
        Problem::Shape { .. }
    ));
    // Data that does not fill the shape is refused and nothing is written.
    let z = d.join("z.npy");
    let err = problem(write_npy(&z, &[2, 2], &[1f64; 3]));
    assert_eq!(
        err,
        Problem::ShapeMismatch {
            shape: vec![2, 2],
            len: 3
        }
    );
    assert!(!z.exists());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn npy_types_and_byte_orders_are_read() {
    let d = dir("types");
    let p = d.join("a.npy");
    let cases: [(&str, Vec<u8>, Vec<i64>); 6] = [
        ("|u1", vec![0, 7, 255], vec![0, 7, 255]),
        ("|i1", vec![0, 7, 255], vec![0, 7, -1]),
        ("<i2", vec![1, 0, 0, 1, 255, 255], vec![1, 256, -1]),
        (">i2", vec![0, 1, 1, 0, 255, 254], vec![1, 256, -2]),
        (
            ">u4",
            [0u8, 0, 0, 9, 0, 0, 1, 0, 255, 255, 255, 255].to_vec(),
            vec![9, 256, 4_294_967_295],
        ),
        (
            "<i8",
            [
                (-5i64).to_le_bytes(),
                6i64.to_le_bytes(),
                0i64.to_le_bytes(),
            ]
            .concat(),
            vec![-5, 6, 0],
        ),
    ];
    for (descr, data, want) in cases {
        std::fs::write(&p, raw_npy(descr, "3,", false, &data)).unwrap();
        assert_eq!(read_npy_labels(&p).unwrap(), want, "{descr}");
    }
    let big = [1.5f64.to_be_bytes(), (-2.0f64).to_be_bytes()].concat();
    std::fs::write(&p, raw_npy(">f8", "1, 2", false, &big)).unwrap();
    assert_eq!(read_npy_matrix(&p).unwrap().row(0), &[1.5, -2.0]);
    // A Fortran-ordered vector is a vector; a Fortran-ordered matrix is refused.
    let ones = [1.0f64.to_le_bytes(), 2.0f64.to_le_bytes()].concat();
    std::fs::write(&p, raw_npy("<f8", "1, 2", true, &ones)).unwrap();
    assert_eq!(read_npy_matrix(&p).unwrap().row(0), &[1.0, 2.0]);
    std::fs::write(
        &p,
        raw_npy("<f8", "2, 2", true, &[ones.clone(), ones].concat()),
    )
    .unwrap();
    assert_eq!(problem(read_npy_matrix(&p)), Problem::FortranOrder);
    // u64 labels beyond i64, and floats as labels, are refused.
    std::fs::write(&p, raw_npy("<u8", "1,", false, &u64::MAX.to_le_bytes())).unwrap();
    assert_eq!(
        problem(read_npy_labels(&p)),
        Problem::IntegerOverflow { index: 0 }
    );
    std::fs::write(&p, raw_npy("<f8", "1,", false, &1f64.to_le_bytes())).unwrap();
    assert_eq!(problem(read_npy_labels(&p)), Problem::Dtype("<f8".into()));
    // Integers are not features; complex numbers are not read at all.
    std::fs::write(&p, raw_npy("<i8", "1, 1", false, &1i64.to_le_bytes())).unwrap();
    assert_eq!(problem(read_npy_matrix(&p)), Problem::Dtype("<i8".into()));
    std::fs::write(&p, raw_npy("<c16", "1,", false, &[0; 16])).unwrap();
    assert_eq!(problem(read_npy_f32(&p)), Problem::Dtype("<c16".into()));
    // Any shape as f32 (image stacks).
    std::fs::write(&p, raw_npy("|u1", "1, 2, 2", false, &[0, 64, 128, 255])).unwrap();
    let stack = read_npy_f32(&p).unwrap();
    assert_eq!(
        (stack.shape, stack.values),
        (vec![1, 2, 2], vec![0.0, 64.0, 128.0, 255.0])
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn corrupt_npy_headers_are_typed_errors() {
    let d = dir("corrupt");
    let p = d.join("c.npy");
    let check = |bytes: &[u8]| {
        std::fs::write(&p, bytes).unwrap();
        problem(read_npy_matrix(&p))
    };
    let f8 = |n: usize| vec![0u8; 8 * n];
    // A shape whose element count overflows 64 bits, or exceeds the limit.
    let huge = raw_npy("<f8", "4294967296, 4294967296, 16", false, &[]);
    assert_eq!(
        check(&huge),
        Problem::TooLarge {
            limit: MAX_ELEMENTS
        }
    );
    let over = raw_npy("<f8", "65536, 65537", false, &[]);
    assert_eq!(
        check(&over),
        Problem::TooLarge {
            limit: MAX_ELEMENTS
        }
    );
    // Data shorter or longer than announced.
    assert_eq!(
        check(&raw_npy("<f8", "2, 2", false, &f8(3))),
        Problem::Length {
            expected: 32,
            found: 24
        }
    );
    assert_eq!(
        check(&raw_npy("<f8", "1, 2", false, &f8(3))),
        Problem::Length {
            expected: 16,
            found: 24
        }
    );
    // A version-2 header announcing 4 GiB is refused before any allocation.
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(check(&v2), Problem::NotNpy(ref m) if m.contains("limit")));
    let bad_headers: [&[u8]; 9] = [
        b"",
        b"\x93NUMP",
        b"PK\x03\x04 not a numpy file",
        b"\x93NUMPY\x04\x00\x10\x00{}",
        b"\x93NUMPY\x01\x00\x40\x00{'descr': '<f8'}",
        b"\x93NUMPY\x01\x00\x09\x00{'descr':}",
        b"\x93NUMPY\x01\x00\x04\x00\xff\xfe{}",
        b"\x93NUMPY\x01\x00\x2a\x00{'descr': '<f8', 'fortran_order': False, }",
        b"\x93NUMPY\x01\x00\x37\x00{'descr': '<f8', 'fortran_order': 0, 'shape': (1, 1), }",
    ];
    for bytes in bad_headers {
        assert!(
            matches!(check(bytes), Problem::NotNpy(_)),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    // Every truncation, and every single-byte change of the header, of a
    // valid file is an error or a valid reading, never a panic.
    let valid = raw_npy("<f4", "2, 3", false, &[7u8; 24]);
    for end in 0..valid.len() {
        std::fs::write(&p, &valid[..end]).unwrap();
        assert!(read_npy_matrix(&p).is_err(), "truncated at {end}");
    }
    let mut rng = crate::reproducible::Xorshift::new(14);
    for _ in 0..2000 {
        let mut bytes = valid.clone();
        let at = (rng.next_u64() % 80) as usize;
        bytes[at] = rng.next_u64() as u8;
        std::fs::write(&p, &bytes).unwrap();
        if let Ok(m) = read_npy_matrix(&p) {
            assert_eq!(m.rows() * m.cols() * 4, 24);
        }
        let _ = read_npy_labels(&p);
        let _ = read_npy_f32(&p);
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn csv_columns_are_read_with_the_same_reader() {
    let d = dir("columns");
    let p = d.join("t.csv");
    std::fs::write(
        &p,
        "\u{feff}id,label,text\n1,pos,\"great, really\"\n2, neg ,\"said \"\"no\"\"\nline two\"\n",
    )
    .unwrap();
    let columns = read_csv_columns(&p, &["text", "label"]).unwrap();
    assert_eq!(columns[0], ["great, really", "said \"no\"\nline two"]);
    assert_eq!(columns[1], ["pos", " neg "]);
    std::fs::write(&p, b"text,label\ncaf\xe9 ok,1\n").unwrap();
    assert_eq!(
        read_csv_columns(&p, &["text"]).unwrap()[0],
        ["caf\u{fffd} ok"]
    );
    std::fs::write(&p, "a,b\n1,2\n").unwrap();
    let err = read_csv_columns(&p, &["text", "b"]).unwrap_err();
    assert!(matches!(
        err,
        FileError::Bad { problem: Problem::MissingColumn { ref column, .. }, .. } if column == "text"
    ));
    assert!(err.to_string().contains("[\"a\", \"b\"]"), "{err}");
    // A ragged row is named by the line it starts on (after a two-line field).
    std::fs::write(&p, "text,label\n\"two\nlines\",1\nworld\n").unwrap();
    assert_eq!(
        problem(read_csv_columns(&p, &["text"])),
        Problem::Ragged {
            line: 4,
            got: 1,
            want: 2
        }
    );
    std::fs::write(&p, "text,label\n").unwrap();
    assert_eq!(problem(read_csv_columns(&p, &["text"])), Problem::Empty);
    std::fs::write(&p, "").unwrap();
    assert_eq!(problem(read_csv_columns(&p, &["text"])), Problem::Empty);
    assert!(matches!(
        read_csv_columns(&d.join("missing.csv"), &["text"]),
        Err(FileError::Io { .. })
    ));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn failed_atomic_write_leaves_the_target_untouched() {
    let d = dir("atomic");
    let path = d.join("y.npy");
    std::fs::write(&path, b"old").unwrap();
    let err = write_atomic(&path, |_| Err(std::io::Error::other("disk full"))).unwrap_err();
    assert!(matches!(err, FileError::Io { .. }));
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
    std::fs::remove_dir_all(&d).unwrap();
}
