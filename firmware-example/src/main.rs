//! hetal firmware example: a data producer on a Cortex-M7 (QEMU
//! `mps2-an500`) that encrypts feature vectors under the key owner's public
//! key at the production parameters (N = 2^16) and streams the ciphertexts,
//! one RNS limb per postcard frame, to the host.
//!
//! No heap: the working memory is five static buffers (about 4.2 MiB at
//! N = 2^16, see `main`); the public key stays in flash, borrowed where it
//! lies. See README.md for the host protocol.
#![no_std]
#![no_main]

mod clock;
mod layout;
mod mem;
mod samples;
mod semihost;

use core::fmt;
use cortex_m::peripheral::SCB;
use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hprintln};
use hetal_nostd::encoding::Complex;
use hetal_nostd::encrypt::{
    EncryptError, EncryptScratch, EncryptionKey, ScratchNtt, StreamEncryptor,
};
use hetal_nostd::math::ntt::NttTable;
use hetal_nostd::params::{presets, Params, ParamsError};
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::wire::{Header, Kind, LimbFrame, Limits, PackedWords, PublicKeyFrame, WireError};
use layout::{Tile, USED_SLOTS};
use semihost::{HostError, HostFile, RecordSink};

/// The key owner's public key, a wire frame at level `user_top_level()`
/// (about 3.4 MB at N = 2^16), provisioned at build time.
static PUBLIC_KEY_FRAME: &[u8] = include_bytes!(env!("HETAL_PK_FRAME"));

/// log2 N of the production preset.
const LOG_N: u32 = presets::PROD_N16.log_n;
/// Slot count N/2.
const SLOTS: usize = 1 << (LOG_N - 1);
/// Entries of the small-integer scratch (3N).
const SMALL_LEN: usize = EncryptScratch::small_len(LOG_N);
/// Words of the encryption work scratch (3N).
const WORK_WORDS: usize = EncryptScratch::work_words(LOG_N);
/// Words of NTT table storage, one prime at a time (4N).
const NTT_WORDS: usize = NttTable::<&mut [u64]>::storage_words(LOG_N);

/// Host file with 32 bytes of entropy (stand-in for a hardware TRNG).
const ENTROPY_FILE: &core::ffi::CStr = c"entropy.bin";
/// Host file receiving the length-prefixed limb frames.
const FRAMES_FILE: &core::ffi::CStr = c"frames.bin";

/// Why the firmware stopped.
#[derive(Debug)]
enum Failure {
    Host(&'static str, HostError),
    Params(ParamsError),
    PublicKey(WireError),
    KeyLevel { have: usize, need: usize },
    Encrypt(EncryptError),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Host(what, e) => write!(f, "host I/O failed ({what}): {e:?}"),
            Failure::Params(e) => write!(f, "parameters: {e}"),
            Failure::PublicKey(e) => write!(f, "provisioned public key rejected: {e}"),
            Failure::KeyLevel { have, need } => {
                write!(
                    f,
                    "provisioned public key has level {have}, level {need} is needed"
                )
            }
            Failure::Encrypt(e) => write!(f, "encryption: {e}"),
        }
    }
}

/// The encryption scratch memory, borrowed from the `static`s of `main`.
struct Scratch {
    packed: &'static mut [Complex; SLOTS],
    small: &'static mut [i8; SMALL_LEN],
    work: &'static mut [u64; WORK_WORDS],
    ntt: &'static mut [u64; NTT_WORDS],
}

#[entry]
fn main() -> ! {
    // cortex-m-rt turns these into `&'static mut` references, handed out
    // once. Sizes at N = 2^16: 512 KiB + 192 KiB + 1.5 MiB + 2 MiB + 32 KiB.
    static mut PACKED: [Complex; SLOTS] = [Complex::new(0.0, 0.0); SLOTS];
    static mut SMALL: [i8; SMALL_LEN] = [0; SMALL_LEN];
    static mut WORK: [u64; WORK_WORDS] = [0; WORK_WORDS];
    static mut NTT: [u64; NTT_WORDS] = [0; NTT_WORDS];
    static mut VALUES: [Complex; USED_SLOTS] = [Complex::new(0.0, 0.0); USED_SLOTS];

    let stack = mem::StackProbe::paint();
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        hprintln!("hetal-fw: error: core peripherals already taken");
        exit(debug::EXIT_FAILURE)
    };
    let clocks = clock::Clocks::start(peripherals);
    let mut scratch = Scratch {
        packed: PACKED,
        small: SMALL,
        work: WORK,
        ntt: NTT,
    };
    let status = match run(&mut scratch, VALUES, &clocks) {
        Ok(()) => {
            let used = mem::static_use();
            hprintln!(
                "hetal-fw: ram_static_bytes={} stack_peak_bytes={} flash_bytes={}",
                used.ram,
                stack.used(),
                used.flash
            );
            debug::EXIT_SUCCESS
        }
        Err(e) => {
            hprintln!("hetal-fw: error: {}", e);
            debug::EXIT_FAILURE
        }
    };
    exit(status)
}

fn run(
    scratch: &mut Scratch,
    values: &mut [Complex; USED_SLOTS],
    clocks: &clock::Clocks,
) -> Result<(), Failure> {
    let params = presets::PROD_N16.build().map_err(Failure::Params)?;
    let level = params.user_top_level();
    // Checks the frame against the parameters (digest included) and every
    // residue's range; the key is then read in place from flash.
    let pk = PublicKeyFrame::decode(PUBLIC_KEY_FRAME, &params, &Limits::default())
        .map_err(Failure::PublicKey)?;
    if pk.level < level {
        return Err(Failure::KeyLevel {
            have: pk.level,
            need: level,
        });
    }
    hprintln!(
        "hetal-fw: params={} log_n={} level={} public_key_bytes={} digest=ok",
        params.name(),
        params.log_n(),
        level,
        PUBLIC_KEY_FRAME.len()
    );

    let mut entropy = [0u8; 32];
    HostFile::open_read(ENTROPY_FILE)
        .and_then(|mut f| f.read_exact(&mut entropy))
        .map_err(|e| Failure::Host("reading entropy.bin", e))?;
    // `from_entropy` wipes its copy; wipe ours too.
    let mut rng = Csprng::from_entropy(entropy);
    entropy.fill(0);

    let file =
        HostFile::create(FRAMES_FILE).map_err(|e| Failure::Host("creating frames.bin", e))?;
    let mut sink = RecordSink::new(file);
    hprintln!(
        "hetal-fw: cycle_counter={}",
        if clocks.has_cycles() { "dwt" } else { "none" }
    );
    for (stream, tile) in (0u32..).zip(Tile::ALL) {
        tile.fill(values);
        let start = clocks.sample();
        let before = sink.total();
        let job = Job {
            params: &params,
            key: EncryptionKey::Public(pk.as_view()),
            level,
            stream,
            clocks,
        };
        let phases = job.encrypt(&values[..], scratch, &mut rng, &mut sink)?;
        hprintln!(
            "hetal-fw: ciphertext stream={} tile={} limbs={} bytes={} {} {}",
            stream,
            tile.name(),
            phases.limbs,
            sink.total() - before,
            clocks.sample().since(&start),
            phases
        );
    }
    let total = sink
        .finish()
        .map_err(|e| Failure::Host("writing frames.bin", e))?;
    hprintln!("hetal-fw: frames_bytes={}", total);
    Ok(())
}

/// One ciphertext to produce.
struct Job<'a> {
    params: &'a Params,
    key: EncryptionKey<'a>,
    level: usize,
    stream: u32,
    clocks: &'a clock::Clocks,
}

/// Where one ciphertext's SysTick ticks went.
struct Phases {
    limbs: usize,
    /// Encoding and sampling (`StreamEncryptor::new`).
    setup: u64,
    /// Producing the limbs (`next_limb`).
    limb: u64,
    /// Packing, serializing and writing the frames.
    output: u64,
}

impl fmt::Display for Phases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "setup_ticks={} limb_ticks={} output_ticks={}",
            self.setup, self.limb, self.output
        )
    }
}

impl Job<'_> {
    /// Encrypts `values` and writes one frame per limb.
    fn encrypt(
        &self,
        values: &[Complex],
        scratch: &mut Scratch,
        rng: &mut Csprng,
        sink: &mut RecordSink,
    ) -> Result<Phases, Failure> {
        let params = self.params;
        let ticks = || self.clocks.sample().ticks();
        let t0 = ticks();
        let ntt = ScratchNtt::new(params, &mut scratch.ntt[..]).map_err(Failure::Encrypt)?;
        let buffers = EncryptScratch {
            packed: &mut scratch.packed[..],
            small: &mut scratch.small[..],
            work: &mut scratch.work[..],
        };
        let mut enc = StreamEncryptor::new(
            params,
            self.key,
            values,
            self.level,
            params.scale(),
            ntt,
            buffers,
            rng,
        )
        .map_err(Failure::Encrypt)?;
        let (scale, log_slots, seed) = (enc.scale(), enc.log_slots() as u8, enc.c1_seed().copied());
        let header = Header::new(Kind::Limb, params, self.level);
        let mut phases = Phases {
            limbs: 0,
            setup: ticks() - t0,
            limb: 0,
            output: 0,
        };
        let mut t = ticks();
        while let Some(limb) = enc.next_limb() {
            let limb = limb.map_err(Failure::Encrypt)?;
            let t_limb = ticks();
            phases.limb += t_limb - t;
            let primes = &params.q()[limb.index..=limb.index];
            let packed = |words| PackedWords {
                words,
                primes,
                n: params.n(),
            };
            let frame = LimbFrame {
                header,
                stream: self.stream,
                index: limb.index as u8,
                scale,
                log_slots,
                seed,
                c0: packed(limb.c0),
                c1: limb.c1.map(packed),
            };
            sink.record(&frame)
                .map_err(|e| Failure::Host("writing frames.bin", e))?;
            t = ticks();
            phases.output += t - t_limb;
            phases.limbs += 1;
        }
        Ok(phases)
    }
}

/// Ends the emulation with `status`; on a board without a debugger, resets.
fn exit(status: debug::ExitStatus) -> ! {
    debug::exit(status);
    SCB::sys_reset()
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("hetal-fw: hard fault at pc={:#010x}", frame.pc());
    exit(debug::EXIT_FAILURE)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("hetal-fw: panic: {}", info);
    exit(debug::EXIT_FAILURE)
}
