/* prepare.c — a weight rearranged once at load time for a fast kernel, after BatchNorm folding. The loader calls it
 * once per prepared conv, with the file's tensor converted into a temporary: the raw weight is not kept. (It packs
 * a linear layer's weight chunk by chunk itself; weights built in call this for every kind.) */
#include "vggc.h"

void vggc_prepare_weight(const vggc_prepare *p, float *weight /* (cout, cin, k, k) or (cout, cin) */)
{
    if (p->kind == VGGC_PREPARE_DENSE) {
        vggc_dense_pack(p->dst, weight, p->cin, p->cout);
        return;
    }
    if (p->fold) vggc_fold_weight(p->fold, weight);
    if (p->kind == VGGC_PREPARE_WINOGRAD)
        vggc_winograd_pack(p->dst, weight, p->cin, p->cout, p->m);
    else
        vggc_direct_pack(p->dst, weight, p->cin, p->cout, p->k);
}
