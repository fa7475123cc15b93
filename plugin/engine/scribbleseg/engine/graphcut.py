"""The global optimum of a binary labelling: min cuts on the pixel grid (PyMaxflow).

The smoothness edges are the same for every round of a solve, so the graph is built once and
each round only changes the label costs; max-flow then continues from the flow it already has
(Boykov-Kolmogorov accepts terminal capacity changes of either sign between runs).
"""

from __future__ import annotations

import maxflow
import numpy as np

from scribbleseg.engine.smoothness import EdgeWeights


class GridCut:
    """Min cuts on one pixel grid with fixed smoothness edges and changing label costs."""

    def __init__(self, edges: EdgeWeights, shape: tuple[int, int]) -> None:
        self._graph = maxflow.Graph[float]()
        self._nodes = self._graph.add_grid_nodes(shape)
        for (dy, dx), weights in edges:
            structure = np.zeros((3, 3))
            structure[1 + dy, 1 + dx] = 1
            self._graph.add_grid_edges(
                self._nodes, weights=weights, structure=structure, symmetric=True
            )
        self._object_cost = np.zeros(shape, np.float32)
        self._background_cost = np.zeros(shape, np.float32)

    def solve(self, object_cost: np.ndarray, background_cost: np.ndarray) -> np.ndarray:
        """HxW bool object mask minimising the summed label costs plus the cut edges' weights."""
        # A node left on the source side is object and pays its sink capacity, and vice versa.
        self._graph.add_grid_tedges(
            self._nodes,
            background_cost - self._background_cost,
            object_cost - self._object_cost,
        )
        self._object_cost, self._background_cost = object_cost, background_cost
        self._graph.maxflow()
        return ~self._graph.get_grid_segments(self._nodes)
