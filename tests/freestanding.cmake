# test_freestanding compares the freestanding kernels (runtime/freestanding/) with their references and the host
# runtime's.
target_link_libraries(test_freestanding PRIVATE vggc_fs)
