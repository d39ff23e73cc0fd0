// Thread-count set-up and BLAS identification for info().
#pragma once
#include <string>

namespace sh {
void init_threads();
std::string blas_name();
std::string core_type();
bool has_openmp();
}  // namespace sh
