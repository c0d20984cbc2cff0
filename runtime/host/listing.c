/* listing.c — the images of a job: files as given, folders walked recursively in byte order of the names. */
#define _POSIX_C_SOURCE 200809L
#include "vggc_host.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../fileio.h"

static int image_name(const char *name)
{
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".pgm", ".ppm"};
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t n = strlen(ext[i]);
        if (len > n && strcasecmp(name + len - n, ext[i]) == 0) return 1;
    }
    return 0;
}

static int add(vggc_image_list *list, int *cap, char *path, vggc_error *err)
{
    if (!path) return vggc_fail(err, "--images", "out of memory listing the images");
    if (list->n == *cap) {
        int more = *cap ? 2 * *cap : 256;
        char **grown = realloc(list->paths, sizeof *grown * (size_t)more);
        if (!grown) {
            free(path);
            return vggc_fail(err, "--images", "out of memory listing %d images", list->n);
        }
        list->paths = grown, *cap = more;
    }
    list->paths[list->n++] = path;
    return 0;
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name), slash = a > 0 && dir[a - 1] != '/';
    char *path = malloc(a + slash + b + 1);
    if (!path) return NULL;
    memcpy(path, dir, a);
    if (slash) path[a] = '/';
    memcpy(path + a + slash, name, b + 1);
    return path;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dots(const struct dirent *e)
{
    return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

static int walk(vggc_image_list *list, int *cap, const char *dir, vggc_error *err);

/* One entry of a folder: a folder (not a link to one) is walked, a file with an image's name is taken. */
static int visit(vggc_image_list *list, int *cap, const char *dir, const char *name, vggc_error *err)
{
    struct stat st;
    char *path = join(dir, name);
    if (!path) return vggc_fail(err, "--images", "out of memory listing the images");
    int rc = 0;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) rc = walk(list, cap, path, err);
    else if (image_name(name) && stat(path, &st) == 0 && S_ISREG(st.st_mode)) return add(list, cap, path, err);
    free(path);
    return rc;
}

static int walk(vggc_image_list *list, int *cap, const char *dir, vggc_error *err)
{
    struct dirent **names;
    int n = scandir(dir, &names, not_dots, by_name), rc = 0;
    if (n < 0) return vggc_fail(err, dir, "cannot read the folder: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
        if (!rc) rc = visit(list, cap, dir, names[i]->d_name, err);
        free(names[i]);
    }
    free(names);
    return rc;
}

int vggc_list_images(vggc_image_list *list, char *const *paths, int count, vggc_error *err)
{
    int cap = 0, rc = 0;
    list->n = 0, list->paths = NULL;
    for (int i = 0; i < count && !rc; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) rc = vggc_fail(err, paths[i], "cannot open: %s", strerror(errno));
        else if (S_ISDIR(st.st_mode)) rc = walk(list, &cap, paths[i], err);
        else rc = add(list, &cap, strdup(paths[i]), err);
    }
    if (!rc && list->n == 0)
        rc = vggc_fail(err, count == 1 ? paths[0] : "--images", "no .png, .jpg, .jpeg, .pgm or .ppm file found");
    if (rc) vggc_image_list_free(list);
    return rc;
}

void vggc_image_list_free(vggc_image_list *list)
{
    for (int i = 0; i < list->n; i++) free(list->paths[i]);
    free(list->paths);
    list->n = 0, list->paths = NULL;
}
