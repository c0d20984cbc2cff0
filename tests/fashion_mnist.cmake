# test_fashion_mnist links fashion_vgg, generated at build time from models/fashion_vgg.lua at batch 100, and checks
# it against the trained weights and PyTorch's predictions committed under models/ (tools/train_fashion_mnist.py).
find_package(ZLIB REQUIRED)
set(FASHION_DIR ${CMAKE_CURRENT_BINARY_DIR}/gen_fashion)
file(MAKE_DIRECTORY ${FASHION_DIR})
add_custom_command(
  OUTPUT ${FASHION_DIR}/fashion_vgg.c ${FASHION_DIR}/fashion_vgg.h
  COMMAND vggc generate ${PROJECT_SOURCE_DIR}/models/fashion_vgg.lua --batch 100 -o ${FASHION_DIR}
  DEPENDS vggc ${PROJECT_SOURCE_DIR}/models/fashion_vgg.lua
  VERBATIM)
target_sources(test_fashion_mnist PRIVATE ${FASHION_DIR}/fashion_vgg.c)
target_include_directories(test_fashion_mnist PRIVATE ${FASHION_DIR})
target_link_libraries(test_fashion_mnist PRIVATE ZLIB::ZLIB)
target_compile_definitions(test_fashion_mnist PRIVATE
  FASHION_WEIGHTS="${PROJECT_SOURCE_DIR}/models/fashion_vgg.safetensors"
  FASHION_PREDICTIONS="${PROJECT_SOURCE_DIR}/models/fashion_vgg_predictions.bin"
  FASHION_DATASET="/usr/share/datasets/fashion-mnist")
