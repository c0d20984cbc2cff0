# test_memory builds a runner with `vggc build`, exports its weights with PyTorch and measures the runner's peak RSS.
# Under the sanitizers it is skipped (RSS would measure ASan's shadow memory).
if(VGGC_SANITIZE)
  set(VGGC_TEST_SANITIZED 1)
else()
  set(VGGC_TEST_SANITIZED 0)
endif()
target_compile_definitions(test_memory PRIVATE VGGC_PYTHON="${VGGC_PYTHON}" VGGC_TEST_SANITIZED=${VGGC_TEST_SANITIZED})
set_tests_properties(test_memory PROPERTIES TIMEOUT 600)
