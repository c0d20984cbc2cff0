/* prepare.c — rearrange weights once at load time for the fast kernels (after BatchNorm folding). */
#include "vggc.h"

void vggc_prepare_weights(const vggc_model *m)
{
    for (int i = 0; i < m->n_prepares; i++) {
        const vggc_prepare *p = &m->prepares[i];
        if (p->kind == VGGC_PREPARE_WINOGRAD)
            vggc_winograd_pack(p->dst, p->weight, p->cin, p->cout, p->m);
        else
            vggc_direct_pack(p->dst, p->weight, p->cin, p->cout, p->k);
    }
}
