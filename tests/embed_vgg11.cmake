# test_embed_vgg11 installs this build tree into a temporary prefix, exports seeded VGG11 weights with PyTorch and
# builds tests/projects/embedded: one program with vgg11_224 and fashion_vgg built in (vggc_add_classifier ... EMBED).
target_compile_definitions(test_embed_vgg11 PRIVATE
  VGGC_CMAKE="${CMAKE_COMMAND}"
  VGGC_PYTHON="${VGGC_PYTHON}"
  FASHION_MODEL="${PROJECT_SOURCE_DIR}/models/fashion_vgg.lua"
  FASHION_WEIGHTS="${PROJECT_SOURCE_DIR}/models/fashion_vgg.safetensors"
  FASHION_PREDICTIONS="${PROJECT_SOURCE_DIR}/models/fashion_vgg_predictions.bin"
  FASHION_DATASET="/usr/share/datasets/fashion-mnist")
set_tests_properties(test_embed_vgg11 PROPERTIES TIMEOUT 300)
