//! Time measurements: the DWT cycle counter where the core implements it,
//! SysTick (core clock, wraps counted by its exception) and the host clock.
//!
//! QEMU models neither cycles nor the DWT counter. Its SysTick runs from
//! the MPS2's 25 MHz system clock in *virtual* time: without `-icount` that
//! tracks host time; with `-icount shift=0` virtual time advances 1 ns per
//! guest instruction, so one tick stands for 40 instructions.

use crate::semihost;
use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::DWT;
use cortex_m_rt::exception;

/// SysTick reload value: the counter's full 24-bit range.
const RELOAD: u32 = 0x00FF_FFFF;

/// SysTick periods completed, counted by the SysTick exception.
static SYSTICK_WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    SYSTICK_WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// The started counters.
pub struct Clocks {
    dwt: bool,
}

/// One reading of every counter.
#[derive(Clone, Copy)]
pub struct Sample {
    cycles: Option<u32>,
    ticks: u64,
    host_ns: Option<u64>,
}

/// Differences between two samples.
pub struct Elapsed {
    cycles: Option<u32>,
    ticks: u64,
    host_ns: Option<u64>,
}

impl Clocks {
    /// Starts SysTick and, if it counts, the DWT cycle counter.
    pub fn start(mut cp: cortex_m::Peripherals) -> Self {
        cp.SYST.set_clock_source(SystClkSource::Core);
        cp.SYST.set_reload(RELOAD);
        cp.SYST.clear_current();
        cp.SYST.enable_interrupt();
        cp.SYST.enable_counter();
        let mut dwt = false;
        if DWT::has_cycle_counter() {
            cp.DCB.enable_trace();
            cp.DWT.enable_cycle_counter();
            let before = DWT::cycle_count();
            cortex_m::asm::delay(1000);
            dwt = DWT::cycle_count() != before;
        }
        Clocks { dwt }
    }

    /// Whether the DWT cycle counter counts.
    pub fn has_cycles(&self) -> bool {
        self.dwt
    }

    /// Reads every counter.
    pub fn sample(&self) -> Sample {
        Sample {
            cycles: self.dwt.then(DWT::cycle_count),
            ticks: systick_ticks(),
            host_ns: semihost::elapsed_ns(),
        }
    }
}

/// SysTick ticks since [`Clocks::start`]: wraps * 2^24 + the count-down so
/// far, re-read if a wrap was counted in between.
fn systick_ticks() -> u64 {
    loop {
        let wraps = SYSTICK_WRAPS.load(Ordering::Acquire);
        let current = cortex_m::peripheral::SYST::get_current();
        if SYSTICK_WRAPS.load(Ordering::Acquire) == wraps {
            return (u64::from(wraps) << 24) + u64::from(RELOAD - current);
        }
    }
}

impl Sample {
    /// The SysTick count.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// What elapsed since `earlier`.
    pub fn since(&self, earlier: &Sample) -> Elapsed {
        Elapsed {
            cycles: self
                .cycles
                .zip(earlier.cycles)
                .map(|(b, a)| b.wrapping_sub(a)),
            ticks: self.ticks - earlier.ticks,
            host_ns: self
                .host_ns
                .zip(earlier.host_ns)
                .map(|(b, a)| b.saturating_sub(a)),
        }
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cycles {
            Some(c) => write!(f, "cycles={c} ")?,
            None => f.write_str("cycles=n/a ")?,
        }
        write!(f, "systick_ticks={} ", self.ticks)?;
        match self.host_ns {
            Some(ns) => write!(f, "host_ms={}", ns / 1_000_000),
            None => f.write_str("host_ms=n/a"),
        }
    }
}
