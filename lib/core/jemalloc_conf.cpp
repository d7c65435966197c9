// jemalloc's options for the executables that link it (CMake target moexp_allocator; jemalloc(3), "malloc_conf"):
// freed pages are kept for reuse and never purged, as core::keep_freed_memory does for glibc's heap. A training step
// frees and re-allocates its activations every step; with the default decay (10 s) jemalloc hands them back and the
// kernel zeroes them again (ResNet-18 MoE: about 700 k page faults per step instead of about 4 k).
// jemalloc reads this global once, at its initialisation; the MALLOC_CONF environment variable still overrides it.
extern "C" {
const char* malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";
}
