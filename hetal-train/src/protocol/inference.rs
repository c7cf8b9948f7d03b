//! Encrypted inference with a finished job's weights: the key owner
//! encrypts features under its public key (the frame format of validation
//! features), the server computes the encrypted logits `X·Wᵀ` with the
//! encrypted best weights it holds (the trainer's forward DiagABT,
//! [`crate::train::validation_logits`]) and sends them back; only the key
//! owner decrypts them. The server never sees the features, the weights or
//! the logits in the clear.

use std::path::{Path, PathBuf};

use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::wire::DEFAULT_MAX_FRAME_BYTES;

use super::client::Client;
use super::owner::{OwnerError, Session};
use super::runner::{server_engine, RunError};
use super::store::JobHandle;
use super::upload::UploadKind;
use crate::ckks_engine::{CkksEngine, OwnerKeys};
use crate::data::Dataset;
use crate::io::FileError;
use crate::job::checkpoint::{matrices_from_bytes, matrices_to_bytes};
use crate::job::data::{read_encrypted, write_encrypted_file, DataError};
use crate::job::frames::{open_frames, Content};
use crate::job::geometry::Geometry;
use crate::job::JobSpec;
use crate::linalg::{decrypt_matrix, Matrix};
use crate::train::validation_logits;

/// The server's side: the encrypted logits of the job's uploaded features
/// (`features.data`) under its encrypted best weights, as a frame file of
/// one block matrix per batch ([`Content::Logits`]).
pub fn logits(job: &JobHandle) -> Result<Vec<u8>, RunError> {
    let spec = &job.spec;
    let geo = Geometry::of(spec)?;
    let engine = server_engine(job, &geo)?;
    let path = job.file("weights");
    let bytes = std::fs::read(&path).map_err(|e| FileError::io(&path, e))?;
    let (meta, weights) = matrices_from_bytes(&engine, &geo.params, Content::Weights, &bytes)?;
    let w = weights.first().ok_or(DataError::Meta)?;
    let input = open_frames(
        &job.file(UploadKind::Features.file_name()),
        Content::ValidationData,
        DEFAULT_MAX_FRAME_BYTES,
    )?;
    let features: Vec<_> = read_encrypted(&engine, spec, input, false)?
        .into_iter()
        .map(|(x, _)| x)
        .collect();
    let logits = validation_logits(&engine, w, &features)?;
    let refs: Vec<_> = logits.iter().collect();
    Ok(matrices_to_bytes(
        &engine,
        Content::Logits,
        meta.epoch,
        "logits",
        &refs,
    )?)
}

/// What the key owner gives [`predict`].
pub struct PredictRequest<'a> {
    /// Server URL; `None`: the one in the model's session.
    pub server: Option<&'a str>,
    /// An extra root certificate (PEM) for an `https://` server.
    pub ca: Option<&'a Path>,
    /// The job (from the owner's key files).
    pub spec: &'a JobSpec,
    /// The owner's keys.
    pub keys: &'a OwnerKeys,
    /// The model directory of `hetal train` (its `session.json` names the
    /// job and holds its token); the encrypted features are written there.
    pub model: &'a Path,
    /// Features (labels are not sent; any valid labels will do).
    pub data: &'a Dataset,
}

/// The key owner's side: encrypts `req.data`'s features, has the server
/// compute their logits under the job's encrypted weights, and decrypts
/// them: `samples × classes`, multiplied back by the job's weight scale.
pub fn predict(req: &PredictRequest<'_>) -> Result<Matrix, OwnerError> {
    let spec = req.spec;
    let geo = Geometry::of(spec)?;
    let session = Session::load(req.model)?
        .ok_or_else(|| OwnerError::NoSession(req.model.join("session.json")))?;
    let rng = Csprng::from_os().map_err(|_| OwnerError::Entropy)?;
    let engine =
        CkksEngine::producer(spec.preset(), geo.slots, req.keys.public_key().clone(), rng)?;
    let path: PathBuf = req.model.join("features.data");
    write_encrypted_file(&engine, spec, req.data, false, &path, &mut || {})?;
    let server = req.server.unwrap_or(&session.server);
    let client = Client::with_ca(server, req.ca)?.with_token(&session.token);
    let bytes = client.predict(&session.job, &path);
    let _ = std::fs::remove_file(&path);
    let (_, mats) = matrices_from_bytes(&engine, &geo.params, Content::Logits, &bytes?)?;
    let parts = mats
        .iter()
        .map(|m| decrypt_matrix(req.keys, m))
        .collect::<Result<Vec<_>, _>>()?;
    let rows: usize = parts.iter().map(Matrix::rows).sum();
    if rows != req.data.len() || parts.iter().any(|m| m.cols() != spec.classes) {
        return Err(OwnerError::Shape);
    }
    let values = parts
        .iter()
        .flat_map(|m| m.data().iter().map(|&z| spec.weight_scale * z))
        .collect();
    Ok(Matrix::new(rows, spec.classes, values)?)
}
