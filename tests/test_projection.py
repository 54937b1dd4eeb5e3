"""The 2-D map: PCA against scikit-learn's, a real PNG, t-SNE's shape, bad options."""

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.decomposition import PCA

from lm_experiments.errors import UserError
from lm_experiments.evaluation.projection import draw_map, project_2d


def test_pca_matches_scikit_learn_up_to_sign():
    vectors = torch.randn(60, 8, generator=torch.Generator().manual_seed(0)) * torch.arange(1, 9)
    ours = project_2d(vectors, "pca")
    reference = PCA(n_components=2).fit_transform(vectors.double().numpy())
    for axis in range(2):
        sign = np.sign(ours[:, axis] @ reference[:, axis])
        np.testing.assert_allclose(ours[:, axis], sign * reference[:, axis], atol=1e-8)


def test_tsne_and_bad_method():
    vectors = torch.randn(40, 5, generator=torch.Generator().manual_seed(1))
    assert project_2d(vectors, "tsne").shape == (40, 2)
    with pytest.raises(UserError, match="pca, tsne"):
        project_2d(vectors, "umap")


def test_draw_map_writes_a_png(tmp_path):
    words = [f"w{i}" for i in range(30)]
    path = draw_map(words, np.random.default_rng(0).normal(size=(30, 2)), tmp_path / "map.png", 10, "title")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 300
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]
