# test_images runs runners on image files (it builds them with vggc, the MPI one with mpicc) against PyTorch and
# torchvision references that tests/image_fixtures.py writes, and decodes the SVG drawing's PNG with libvggc_host.
target_link_libraries(test_images PRIVATE vggc_host)
target_compile_definitions(test_images PRIVATE VGGC_PYTHON="${VGGC_PYTHON}")
add_dependencies(test_images vggc_host)
set_tests_properties(test_images PROPERTIES TIMEOUT 900)
