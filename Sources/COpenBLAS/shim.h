#ifndef WAQITI_COPENBLAS_SHIM_H
#define WAQITI_COPENBLAS_SHIM_H
#include <cblas.h>
/* Declared by OpenBLAS's own cblas.h; repeated here so the wrapper does not depend on which
   cblas.h the include path finds first. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
/* Not in cblas.h: OpenBLAS's own fork handler uses it to stop its worker pool, which the next
   multi-threaded call starts again (exec_blas). Exported by Debian's libopenblas0 (0.3.21). */
int blas_thread_shutdown_(void);
#endif
