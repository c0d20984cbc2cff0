#!/usr/bin/env python3
"""image_fixtures.py — the image files and PyTorch references tests/test_images.c checks the runner against.

    /usr/bin/python3 tests/image_fixtures.py --vggc build/gen/vggc --out DIR [--count 600]
                                             --tiny "CFG --input 3x224x224 ..."

Writes into DIR:
  fashion/{jpg,png}/NNNNN.*   Fashion-MNIST test images 0..count-1 (tools/fashion_images.py), PNG and JPEG in turn
  fashion_expected.txt        per file, in the order the runner walks the folder: "path class margin", the class
                              models/fashion_vgg computes in PyTorch (float32) on the pixels Pillow decodes from
                              the file (a JPEG's pixels, not the original's), and its top-2 logit margin
  fashion_input.npy           (count, 1, 28, 28) float32: (pixels / 255 - 0.2860) / 0.3530 computed by torch
  photos/*                    one photo (matplotlib's grace_hopper.jpg, 512x600) at several sizes and aspect
                              ratios, cropped and scaled, as JPEG and PNG, gray, RGBA, palette and CMYK
  photos_imagenet.npy         (photos, 3, 224, 224) float32: torchvision's Resize(256), CenterCrop(224),
                              ToTensor(), Normalize(ImageNet) of Image.open(path).convert("RGB")
  tiny.safetensors            seeded weights for the small 3x224x224 net --tiny names (vggc report args)
  broken/                     4 good PNGs, a JPEG cut in half, a .png that is text, a .txt to be ignored
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

try:
    import numpy as np
    import torch
    import torchvision.transforms as T
    from PIL import Image
except ImportError as e:
    print(f"image_fixtures: {e} under {sys.executable}; run with /usr/bin/python3 (Debian's python3-torch, "
          "python3-torchvision, python3-pil)", file=sys.stderr)
    sys.exit(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import fashion_images  # noqa: E402
import vggc_torch  # noqa: E402

PHOTO = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"  # Debian's python-matplotlib-data
MEAN, STD = 0.2860, 0.3530


def report(vggc, args):
    out = subprocess.run([vggc, "report", *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def read_safetensors(path):
    """A safetensors file of F32 (and I64: num_batches_tracked) tensors as a state_dict."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header, base, state = json.loads(data[8:8 + n]), 8 + n, {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        dtype = {"F32": "<f4", "I64": "<i8"}[t["dtype"]]
        state[name] = torch.from_numpy(np.frombuffer(data[base + a:base + b], dtype=dtype).copy()).reshape(t["shape"])
    return state


def fashion(vggc, out, count):
    paths = fashion_images.write(os.path.join(out, "fashion"), 0, count, ["png", "jpg"])
    model = vggc_torch.model_from_json(report(vggc, [os.path.join(ROOT, "models", "fashion_vgg.lua")]), "fashion")
    model.load_state_dict(read_safetensors(os.path.join(ROOT, "models", "fashion_vgg.safetensors")))
    model.eval()
    pixels = np.stack([np.asarray(Image.open(p).convert("L")) for p in paths])
    x = (torch.from_numpy(pixels).to(torch.float32) / 255.0 - MEAN) / STD
    x = x.unsqueeze(1).contiguous()
    with torch.no_grad():
        logits = model(x)
    top2 = logits.topk(2, dim=1)
    with open(os.path.join(out, "fashion_expected.txt"), "w") as f:
        for p, c, v in zip(paths, top2.indices[:, 0], top2.values):
            f.write(f"{os.path.relpath(p, out)} {int(c)} {float(v[0] - v[1]):.6g}\n")
    vggc_torch.write_npy(os.path.join(out, "fashion_input.npy"), x.numpy())


def photos(out):
    """The photo at several sizes and aspect ratios and in several modes; their torchvision tensors."""
    src = Image.open(PHOTO).convert("RGB")  # 512 x 600
    d = os.path.join(out, "photos")
    os.makedirs(d, exist_ok=True)
    w, h = src.size
    made = {
        "a_original.jpg": None,                                               # the camera JPEG, 512x600
        "b_wide_640x360.jpg": src.crop((0, 100, w, 388)).resize((640, 360), Image.LANCZOS),
        "c_small_200x150.png": src.crop((50, 50, 450, 350)).resize((200, 150), Image.LANCZOS),  # enlarged
        "d_square_300.png": src.crop((0, 0, 512, 512)).resize((300, 300), Image.LANCZOS),
        "e_tall_180x400.jpg": src.crop((150, 0, 330, 400)),
        "f_exact_224.jpg": src.crop((100, 100, 324, 324)),
        "g_odd_257x513.png": src.crop((0, 0, 257, 513)),
        "h_large_1100x1300.jpg": src.resize((1100, 1300), Image.LANCZOS),    # shrunk more than 4x
        "i_gray_333x250.jpg": src.crop((0, 0, 444, 333)).resize((333, 250), Image.LANCZOS).convert("L"),
        "j_rgba_260x300.png": src.crop((0, 0, 260, 300)).convert("RGBA"),
        "k_palette_256x200.png": src.crop((0, 0, 512, 400)).resize((256, 200)).convert("P", palette=Image.ADAPTIVE),
        "l_cmyk_240x320.jpg": src.crop((0, 0, 240, 320)).convert("CMYK"),
        "m_tiny_31x17.png": src.resize((31, 17), Image.LANCZOS),
    }
    for name, img in made.items():
        path = os.path.join(d, name)
        if img is None:
            with open(PHOTO, "rb") as f, open(path, "wb") as g:
                g.write(f.read())
        elif name.startswith("j_"):
            alpha = Image.linear_gradient("L").resize(img.size)
            img.putalpha(alpha)
            img.save(path)
        else:
            img.save(path, quality=85) if name.endswith(".jpg") else img.save(path)
    transform = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                           T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    x = torch.stack([transform(Image.open(os.path.join(d, n)).convert("RGB")) for n in sorted(made)])
    vggc_torch.write_npy(os.path.join(out, "photos_imagenet.npy"), x.numpy())


def tiny(vggc, out, args):
    torch.manual_seed(0)
    model = vggc_torch.model_from_json(report(vggc, shlex.split(args)), "tiny")
    vggc_torch.write_safetensors(os.path.join(out, "tiny.safetensors"), model.state_dict(), torch.float32,
                                 {"format": "pt"})


def broken(out):
    d = os.path.join(out, "broken")
    fashion_images.write(d, 100, 4, ["png"])
    fashion_images.write(d, 104, 1, ["jpg"])
    jpg = os.path.join(d, "jpg", "00104.jpg")
    with open(jpg, "rb") as f:
        data = f.read()
    with open(os.path.join(d, "png", "00102b_cut.jpg"), "wb") as f:
        f.write(data[:len(data) // 2])
    os.remove(jpg)
    os.rmdir(os.path.join(d, "jpg"))
    with open(os.path.join(d, "png", "00101b_text.png"), "w") as f:
        f.write("not a picture\n")
    with open(os.path.join(d, "png", "notes.txt"), "w") as f:
        f.write("ignored: not an image name\n")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vggc", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=600)
    p.add_argument("--tiny", required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    fashion(args.vggc, args.out, args.count)
    photos(args.out)
    tiny(args.vggc, args.out, args.tiny)
    broken(args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
