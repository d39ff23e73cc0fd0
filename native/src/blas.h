// The one place that includes a CBLAS header: OpenBLAS on Linux, Accelerate on macOS.
#pragma once
#if defined(SHITATE_ACCELERATE)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif
