//! Memory accounting from the linker's symbols (cortex-m-rt's `link.x`)
//! and a painted stack to measure its high-water mark.

use core::ptr::{addr_of, addr_of_mut};

extern "C" {
    static __sdata: u32;
    static __edata: u32;
    static __sidata: u32;
    static mut __ebss: u32;
    static _stack_start: u32;
}

/// Word written over the unused stack before the work starts.
const PAINT: u32 = 0xA5A5_A5A5;
/// Bytes of stack below the current frame that are painted and checked.
const PAINTED_BYTES: usize = 128 << 10;

/// Static memory as linked.
#[derive(Clone, Copy, Debug)]
pub struct StaticUse {
    /// Bytes of RAM taken by `.data` and `.bss`.
    pub ram: usize,
    /// Bytes of flash (boot memory) taken by the image: vector table, code,
    /// read-only data (the public key included) and `.data`'s initial values.
    pub flash: usize,
}

/// Reads the section bounds.
pub fn static_use() -> StaticUse {
    let sdata = addr_of!(__sdata) as usize;
    let edata = addr_of!(__edata) as usize;
    let sidata = addr_of!(__sidata) as usize;
    let ebss = addr_of!(__ebss) as usize;
    StaticUse {
        ram: ebss - sdata,
        // FLASH starts at 0 on this board (memory.x).
        flash: sidata + (edata - sdata),
    }
}

/// A painted stretch of stack.
pub struct StackProbe {
    low: usize,
    top: usize,
}

impl StackProbe {
    /// Paints `PAINTED_BYTES` below the caller's frame (or down to the end
    /// of `.bss`, whichever is higher).
    #[inline(never)]
    pub fn paint() -> Self {
        let sp = cortex_m::register::msp::read() as usize;
        let top = (sp - 256) & !3;
        let floor = (addr_of_mut!(__ebss) as usize + 3) & !3;
        let low = top.saturating_sub(PAINTED_BYTES).max(floor);
        let mut p = low;
        while p < top {
            // SAFETY: [low, top) lies between the end of .bss and 256 bytes
            // below the live stack pointer: memory no live object uses.
            unsafe { (p as *mut u32).write_volatile(PAINT) };
            p += 4;
        }
        StackProbe { low, top }
    }

    /// Stack high-water mark in bytes, from the top of the stack to the
    /// lowest painted word overwritten since [`Self::paint`] (a lower bound
    /// if the whole stretch was used).
    pub fn used(&self) -> usize {
        let mut p = self.low;
        // SAFETY: reads words of the painted stretch, see `paint`.
        while p < self.top && unsafe { (p as *const u32).read_volatile() } == PAINT {
            p += 4;
        }
        addr_of!(_stack_start) as usize - p
    }
}
