# test_two_models links two generated classifiers into one program: vgg11_224 (the demo library from generated/) and
# fashion_vgg, generated here by vggc_add_classifier from models/fashion_vgg.lua at batch 4. It runs each from two
# threads at once, and checks with nm that every symbol the two libraries define carries its model's name.
find_package(Threads REQUIRED)
vggc_add_classifier(fashion_vgg MODEL ${PROJECT_SOURCE_DIR}/models/fashion_vgg.lua BATCH 4)
target_compile_options(fashion_vgg PRIVATE ${VGGC_WARNINGS})
target_link_libraries(test_two_models PRIVATE vgg11_224 fashion_vgg Threads::Threads)
target_compile_definitions(test_two_models PRIVATE
  VGGC_PYTHON="${VGGC_PYTHON}"
  VGGC_NM="${CMAKE_NM}"
  VGG11_LIBRARY="$<TARGET_FILE:vgg11_224>"
  FASHION_LIBRARY="$<TARGET_FILE:fashion_vgg>"
  FASHION_WEIGHTS="${PROJECT_SOURCE_DIR}/models/fashion_vgg.safetensors")
set_tests_properties(test_two_models PROPERTIES TIMEOUT 300)
