//! Giving the memory of a large closed document back to the system.
//!
//! glibc keeps freed memory for reuse, and a large document leaves many freed
//! blocks behind (its rope's nodes, the copies its `didOpen` went through), so
//! without this the server's footprint would stay at its largest file's for good.

/// Allocations at least this large get their own mapping, returned to the
/// system when freed.
const OWN_MAPPING_BYTES: i32 = 256 * 1024;

/// Keeps large allocations (a document's text in a message, its copies) in
/// their own mappings: glibc otherwise raises that threshold after the first
/// large free and serves later ones from a heap it does not shrink.
pub fn return_large_allocations_when_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a tuning parameter of the allocator.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, OWN_MAPPING_BYTES);
    }
}

/// Closing a document at least this large returns freed memory to the system.
pub const LARGE_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Returns the allocator's free memory to the system; a no-op where the
/// allocator is not glibc's.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds as free;
    // it takes no pointers and is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
