"""Compiling a fitted pipeline to one ONNX graph, and checking the graph before it ships.

The graph takes the raw typed input columns (``InputSchema.typed``) as one (N, k) tensor a
kind of column (``graph_inputs``: float32 numbers and booleans, double datetimes, string
categories) and returns the label and the class probabilities (or the value). Converters: skl2onnx for
scikit-learn (linear models, trees, forests, extra trees, histogram boosting, kNN, MLP, the
voting ensemble of whole pipelines, the steps), onnxmltools for LightGBM and XGBoost, and
podium's own for ``EarlyStoppedBooster`` (it delegates to the booster's converter and maps
its encoded labels back to the classes).

Before a champion is registered its graph is scored on the whole holdout and compared with
the fitted pipeline (``check_graph``): labels must be identical — except where the pipeline's
two most probable classes are within ``PROBA_TOLERANCE`` of each other, a tie the graph's
float32 arithmetic may break either way (counted and reported) — probabilities must agree
within ``PROBA_TOLERANCE`` (absolute) and values within ``VALUE_TOLERANCE`` (relative to
max(1, |value|, the holdout's mean |value|)). A champion that does not convert or fails the check ships on the
scikit-learn engine, with the reason in its package.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from podium.data.types import ColumnType
from podium.registry.schema import InputSchema, TypedColumns
from podium.registry.scoring import (
    BY_KIND,
    INPUTS_KEY,
    ONNX,
    SKLEARN,
    EngineInfo,
    OnnxEngine,
    SklearnEngine,
    graph_inputs,
)

__all__ = ["PROBA_TOLERANCE", "VALUE_TOLERANCE", "Compiled", "compile_graph", "check_graph",
           "compile_model", "unconvertible_step", "unconvertible_part", "part_types", "serving_us"]

#: probabilities: absolute difference allowed between the graph and the pipeline. The graph
#: computes in float32; distance-weighted kNN takes distances from |a|^2 - 2ab + |b|^2, which
#: loses digits for close neighbours: the quickstart's logistic + kNN ensemble is 2.5e-6 apart
#: at the median but up to 3e-4 on a few rows. 1e-3 is far below what a probability means.
PROBA_TOLERANCE = 1e-3
#: regression values: difference allowed relative to max(1, |value|, the mean |value| of the
#: holdout). The scale keeps a value near zero from failing a float32 graph: a linear model's
#: terms of thousands (diamonds' prices) cancel to a few units with float32's absolute error.
VALUE_TOLERANCE = 1e-4
_OPSET = 15
_ML_OPSET = 3


@dataclass(frozen=True)
class Compiled:
    """The outcome of compiling a champion: its engine block and, on the onnx engine, the graph."""

    engine: EngineInfo
    model: bytes | None = field(default=None, repr=False)
    note: str | None = None  # e.g. labels that differ on near-ties


def compile_model(pipeline: Any, schema: InputSchema, task: str, classes: list[Any],
                  holdout: TypedColumns) -> Compiled:
    """Compile ``pipeline`` and check the graph on ``holdout``; never raises."""
    rows = len(next(iter(holdout.values()))) if holdout else 0
    tolerance = VALUE_TOLERANCE if task == "regression" else PROBA_TOLERANCE
    try:
        model = compile_graph(pipeline, schema, task)
    except Exception as exc:  # noqa: BLE001  any converter failure: the pipeline stays the engine
        return Compiled(EngineInfo(SKLEARN, reason=f"does not compile: {_one_line(exc)}",
                                   tolerance=tolerance))
    try:
        problem, note = check_graph(model, pipeline, schema, task, classes, holdout)
    except Exception as exc:  # noqa: BLE001  the runtime refuses the graph
        problem, note = f"the compiled graph does not run: {_one_line(exc)}", None
    if problem is not None:
        return Compiled(EngineInfo(SKLEARN, reason=f"compiled graph differs from the pipeline on the holdout: "
                                                   f"{problem}", tolerance=tolerance, checked_rows=rows))
    return Compiled(EngineInfo(ONNX, file="model.onnx", tolerance=tolerance, checked_rows=rows), model, note)


def compile_graph(pipeline: Any, schema: InputSchema, task: str) -> bytes:
    """The fitted pipeline as an ONNX graph over the typed columns; raises when it does not convert."""
    from skl2onnx import convert_sklearn

    blocker = unconvertible_step(pipeline)
    if blocker is not None:
        raise ValueError(f"no ONNX converter for {blocker}")
    options: dict[Any, Any] = {}
    if task != "regression":
        options = {id(pipeline): {"zipmap": False}}
    onx = convert_sklearn(pipeline, initial_types=_initial_types(schema), options=options,
                          target_opset={"": _OPSET, "ai.onnx.ml": _ML_OPSET})
    _fix_neighbour_distances(onx)
    _drop_zero_class_weights(onx)
    _drop_hit_rates(onx)
    _inputs_by_kind(onx, schema)
    data: bytes = onx.SerializeToString()
    return data


def _drop_hit_rates(onx: Any) -> None:
    """Remove the trees' ``nodes_hitrates``: optional, unread by onnxruntime, and held by its
    session all the same (a float a node: digits' 110 k-node forest, 1.4 MB a worker)."""
    for node in onx.graph.node:
        for attribute in [a for a in node.attribute if a.name == "nodes_hitrates"]:
            node.attribute.remove(attribute)


def _inputs_by_kind(onx: Any, schema: InputSchema) -> None:
    """Make the graph take one (N, k) tensor a kind of column (``graph_inputs``) instead of
    skl2onnx's (N, 1) tensor a column.

    onnxruntime pays for every input of every call: digits' 64 pixel columns cost 100 µs a
    single-row call as columns, 11 as one block. A ``Concat`` of columns of one kind (how
    skl2onnx starts a pipeline's numeric part) becomes a ``Gather`` of the block's columns, or
    the block itself; any other use of a column takes it from one ``Split`` of its block.
    """
    from onnx import TensorProto, helper

    elem = {np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE, object: TensorProto.STRING}
    graph = onx.graph
    taken = {name for node in graph.node for name in node.output} | {i.name for i in graph.initializer}
    taken |= {i.name for i in graph.input}

    def fresh(base: str) -> str:
        name, n = base, 0
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        return name

    groups = graph_inputs(schema)
    values = {column: column for group in groups for column in group.columns}  # a column's value in the graph
    for group in groups:  # a value named like a block (a column called "numbers") is renamed
        if group.name in taken:
            renamed = fresh(group.name)
            _rename(graph, group.name, renamed)
            values.update({column: renamed for column, value in values.items() if value == group.name})
    where = {values[column]: (group, i) for group in groups for i, column in enumerate(group.columns)}
    nodes: list[Any] = []
    for node in graph.node:
        members = [where.get(name) for name in node.input]
        axis = next((a.i for a in node.attribute if a.name == "axis"), None)
        if (node.op_type == "Concat" and axis in (1, -1) and members and all(members)
                and len({m[0].name for m in members if m}) == 1):
            group = members[0][0]  # type: ignore[index]
            picked = [m[1] for m in members if m]
            if picked == list(range(len(group.columns))):
                nodes.append(helper.make_node("Identity", [group.name], list(node.output), name=node.name))
            else:
                indices = fresh(f"{group.name}_columns")
                graph.initializer.append(helper.make_tensor(indices, TensorProto.INT64, [len(picked)], picked))
                nodes.append(helper.make_node("Gather", [group.name, indices], list(node.output), axis=1,
                                              name=node.name))
        else:
            nodes.append(node)
    used = {name for node in nodes for name in node.input} | {o.name for o in graph.output}
    splits: list[Any] = []
    for group in groups:
        outputs = [values[column] if values[column] in used else fresh(f"{group.name}_unused")
                   for column in group.columns]
        if not used & set(outputs):
            continue
        splits.append(helper.make_node("Split", [group.name], outputs, axis=1, name=fresh(f"split_{group.name}"))
                      if len(outputs) > 1 else helper.make_node("Identity", [group.name], outputs,
                                                                name=fresh(f"split_{group.name}")))
    del graph.node[:]
    graph.node.extend(splits + nodes)
    del graph.input[:]
    graph.input.extend(helper.make_tensor_value_info(group.name, elem[group.dtype], [None, len(group.columns)])
                       for group in groups)
    helper.set_model_props(onx, {**{p.key: p.value for p in onx.metadata_props}, INPUTS_KEY: BY_KIND})


def _rename(graph: Any, old: str, new: str) -> None:
    """Rename the value ``old`` wherever the graph makes or reads it."""
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for init in graph.initializer:
        if init.name == old:
            init.name = new
    for output in graph.output:
        if output.name == old:
            output.name = new


def _fix_neighbour_distances(onx: Any) -> None:
    """Undo skl2onnx's sign flip of kNN distances (opset >= 11).

    skl2onnx (1.20) takes the k smallest distances with ``TopK(largest=0)`` and then still
    multiplies them by -1, a leftover of the older negate-then-TopK form: every weight of a
    distance-weighted kNN becomes 1/1e-6 and the neighbours count alike. The -1 becomes 1.
    """
    from onnx import numpy_helper

    values = {node.output[0] for node in onx.graph.node if node.op_type == "TopK"}
    constants = {init.name: init for init in onx.graph.initializer}
    for node in onx.graph.node:
        if node.op_type != "Mul" or node.input[0] not in values or node.input[1] not in constants:
            continue
        factor = numpy_helper.to_array(constants[node.input[1]])
        if factor.size == 1 and float(factor.reshape(-1)[0]) == -1.0:
            constants[node.input[1]].CopyFrom(numpy_helper.from_array(-factor, node.input[1]))


def _drop_zero_class_weights(onx: Any) -> None:
    """Keep only the non-zero leaf weights of every tree classifier.

    skl2onnx writes each leaf's whole class distribution, zeros included: a forest's leaves are
    mostly pure, so a 10-class forest carries ten weights a leaf where one counts. A missing
    weight adds nothing to the sum, so the answers are the same; onnxruntime's session holds
    half the memory (digits' 600-tree ensemble: 317 -> 147 MB) and scores a quarter faster.
    A node keeps its weights when dropping the zeros would leave a class without any (the
    runtime reads a lone class of two as the binary case)."""
    from onnx import helper

    for node in onx.graph.node:
        if node.op_type != "TreeEnsembleClassifier":
            continue
        attributes = {a.name: a for a in node.attribute}
        if "class_weights" not in attributes:
            continue
        weights = np.asarray(attributes["class_weights"].floats, dtype=np.float32)
        keep = weights != 0
        ids = np.asarray(attributes["class_ids"].ints)
        if keep.all() or set(ids[keep].tolist()) != set(ids.tolist()):
            continue
        for name in ("class_ids", "class_nodeids", "class_treeids"):
            kept = np.asarray(attributes[name].ints)[keep].tolist()
            node.attribute.remove(attributes[name])
            node.attribute.append(helper.make_attribute(name, kept))
        node.attribute.remove(attributes["class_weights"])
        node.attribute.append(helper.make_attribute("class_weights", weights[keep].tolist()))


def check_graph(model: bytes, pipeline: Any, schema: InputSchema, task: str, classes: list[Any],
                holdout: TypedColumns) -> tuple[str | None, str | None]:
    """Compare the graph with the pipeline on ``holdout``: (why they differ or None, a note or None)."""
    graph = OnnxEngine(model, schema, task, classes).score(holdout)
    reference = SklearnEngine(pipeline, task, classes).score(holdout)
    if task == "regression":
        want, got = reference.values, graph.values
        if want.shape != got.shape:
            return f"{got.shape[0]} values for {want.shape[0]} rows", None
        scale = max(1.0, float(np.nanmean(np.abs(want)))) if want.size and not np.isnan(want).all() else 1.0
        gap = np.abs(got - want) / np.maximum(scale, np.abs(want))
        worst = int(np.nanargmax(gap)) if gap.size and not np.isnan(gap).all() else 0
        if np.isnan(got).sum() != np.isnan(want).sum() or (gap.size and float(np.nanmax(gap)) > VALUE_TOLERANCE):
            return (f"row {worst}: value {got[worst]!r} instead of {want[worst]!r} "
                    f"(relative tolerance {VALUE_TOLERANCE:g} of max(|value|, {scale:.6g}))"), None
        return None, None
    assert graph.proba is not None and reference.proba is not None
    if graph.proba.shape != reference.proba.shape:
        return f"probabilities of shape {graph.proba.shape} instead of {reference.proba.shape}", None
    gap = np.abs(graph.proba - reference.proba)
    if gap.size and float(gap.max()) > PROBA_TOLERANCE:
        row, col = np.unravel_index(int(gap.argmax()), gap.shape)
        return (f"row {row}: P({classes[col]}) = {graph.proba[row, col]:.6g} instead of "
                f"{reference.proba[row, col]:.6g} (tolerance {PROBA_TOLERANCE:g})"), None
    differ = graph.values != reference.values
    if differ.any():
        top = np.sort(reference.proba, axis=1)
        near_tie = (top[:, -1] - top[:, -2]) <= PROBA_TOLERANCE if top.shape[1] > 1 else np.zeros(len(top), bool)
        real = differ & ~near_tie
        if real.any():
            first = int(real.argmax())
            return f"row {first}: label {graph.values[first]!r} instead of {reference.values[first]!r}", None
        return None, (f"{int(differ.sum())} of {len(differ)} holdout labels differ on near-ties "
                      f"(top two probabilities within {PROBA_TOLERANCE:g})")
    return None, None


def unconvertible_step(pipeline: Any) -> str | None:
    """The first part of ``pipeline`` that has no ONNX converter (by type), or None."""
    return unconvertible_part(part_types(pipeline))


def part_types(pipeline: Any) -> tuple[type, ...]:
    """The types of the estimators and transformers ``pipeline`` is made of: what
    ``unconvertible_part`` judges (a trial returns them; its parent judges, so the trial
    workers never import the converters)."""
    return tuple(type(part) for part in _parts(pipeline))


def unconvertible_part(types: Iterable[type]) -> str | None:
    """The first of ``types`` that has no ONNX converter, or None. Cheap — no conversion — so
    the leaderboard can show it for every trial."""
    try:
        from skl2onnx import get_model_alias
    except ImportError:
        return "the ONNX converters (pip install 'podium[onnx]')"
    _register_converters()
    for kind in types:
        try:
            get_model_alias(kind)
        except RuntimeError:
            return kind.__name__
    return None


#: the cost model of ``serving_us``, fitted to onnxruntime's CPU time on this project's bench
#: machine (one core, 100-row batches; 11 forests and boosted models of german_credit,
#: chile_vote and digits, 3-60 µs a row, within ~15 %; an MLP and kNN on 64 columns): a tree
#: node visited costs 7 ns, every node held 0.1 ns (the bigger the trees, the fewer stay in
#: cache), a weight of a linear model or an MLP 0.02 ns (batched matrix products), a kNN
#: distance term 1.3 ns (every training row's distance, then a top-k), a step or estimator 0.1 µs.
_US_PER_VISIT = 0.007
_US_PER_NODE = 0.0001
_US_PER_WEIGHT = 0.00002
_US_PER_DISTANCE_TERM = 0.0013
_US_PER_PART = 0.1


def serving_us(pipeline: Any) -> float:
    """The estimated CPU time of ``pipeline``'s compiled graph, in µs a row (100-row batches,
    one core) — from the fitted model's structure alone (trees visited and held, weights
    multiplied, kNN distances), so the same model always gets the same figure, whatever the machine's load."""
    total = 0.0
    for part in _parts(pipeline):
        total += _US_PER_PART
        inner = getattr(part, "model_", None)  # podium's early-stopped booster: its booster's trees
        visits, nodes, weights, distances = _structure(inner if inner is not None else part)
        total += (_US_PER_VISIT * visits + _US_PER_NODE * nodes + _US_PER_WEIGHT * weights
                  + _US_PER_DISTANCE_TERM * distances)
    return total


def _structure(model: Any) -> tuple[float, float, float, float]:
    """(tree nodes a row visits, tree nodes held, weights a row multiplies, kNN distance terms a
    row) of one fitted estimator."""
    members = getattr(model, "estimators_", None)
    trees = [model.tree_] if hasattr(model, "tree_") else [
        e.tree_ for e in (members if isinstance(members, list) else []) if hasattr(e, "tree_")]
    if trees:  # scikit-learn's trees: the depth of each leaf, weighted by the rows it holds
        visits = 0.0
        for tree in trees:
            leaves = tree.children_left < 0
            weight = tree.weighted_n_node_samples
            visits += float((tree.compute_node_depths()[leaves] * weight[leaves]).sum() / weight[0])
        return visits, float(sum(t.node_count for t in trees)), 0.0, 0.0
    params = model.get_params() if hasattr(model, "get_params") else {}
    if hasattr(model, "booster_"):  # LightGBM: grown leaf-wise, so deeper than a balanced tree
        text = model.booster_.model_to_string()  # each tree's leaves, as the model file counts them
        leaves = np.asarray([int(line[11:]) for line in text.splitlines() if line.startswith("num_leaves=")],
                            dtype=float)
        return (float((1.2 * np.log2(np.maximum(leaves, 2)) + 1).sum()), float((2 * leaves - 1).sum()),
                0.0, 0.0)
    if hasattr(model, "get_booster"):  # XGBoost: grown level by level to max_depth
        count = float(len(model.get_booster().get_dump()))
        depth = float(params.get("max_depth") or 6)
        return count * depth, count * (2 ** (depth + 1) - 1), 0.0, 0.0
    if hasattr(model, "n_trees_per_iteration_"):  # histogram gradient boosting
        count = float(model.n_iter_ * model.n_trees_per_iteration_)
        leaves = float(params.get("max_leaf_nodes") or 31)
        return count * (np.log2(leaves) + 1), count * (2 * leaves - 1), 0.0, 0.0
    if hasattr(model, "n_samples_fit_"):  # kNN: the graph measures the distance to every row
        return 0.0, 0.0, 0.0, float(model.n_samples_fit_ * model.n_features_in_)
    weights = getattr(model, "coefs_", None)  # an MLP's layers
    if weights is None and hasattr(model, "coef_"):
        weights = [model.coef_]
    return 0.0, 0.0, float(sum(np.size(w) for w in weights or [])), 0.0


def _parts(model: Any) -> Iterator[Any]:
    """The estimators and transformers a model is made of (containers included)."""
    if isinstance(model, str) or model is None:  # 'drop' / 'passthrough' in a ColumnTransformer
        return
    yield model
    steps = getattr(model, "steps", None)
    if isinstance(steps, list):
        for _, step in steps:
            yield from _parts(step)
        return
    transformers = getattr(model, "transformers_", None) or getattr(model, "transformer_list", None)
    if transformers is not None:
        for entry in transformers:
            yield from _parts(entry[1])
        return
    estimators = getattr(model, "estimators_", None) if hasattr(model, "named_estimators_") else None
    if estimators is not None:
        for member in estimators:
            yield from _parts(member)


def _initial_types(schema: InputSchema) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

    types: list[tuple[str, Any]] = []
    for column in schema.columns:
        if column.kind in (ColumnType.NUMERIC, ColumnType.BOOLEAN):
            types.append((column.name, FloatTensorType([None, 1])))
        elif column.kind == ColumnType.DATETIME:
            types.append((column.name, DoubleTensorType([None, 1])))
        else:
            types.append((column.name, StringTensorType([None, 1])))
    return types


@functools.cache
def _register_converters() -> None:
    """podium's transformers, LightGBM, XGBoost (onnxmltools) and podium's early-stopped
    booster, registered once."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    from podium.candidates.boosting import (
        BoostedClassifier,
        BoostedRegressor,
        DeadlineHistGradientBoostingClassifier,
        DeadlineHistGradientBoostingRegressor,
    )
    from podium.candidates.trees import (
        DeadlineExtraTreesClassifier,
        DeadlineExtraTreesRegressor,
        DeadlineRandomForestClassifier,
        DeadlineRandomForestRegressor,
    )
    from podium.steps.onnx import register_converters

    register_converters()
    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    try:
        import lightgbm
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        update_registered_converter(lightgbm.LGBMClassifier, "LightGbmLGBMClassifier",
                                    calculate_linear_classifier_output_shapes, convert_lightgbm,
                                    options=classifier_options)
        update_registered_converter(lightgbm.LGBMRegressor, "LightGbmLGBMRegressor",
                                    calculate_linear_regressor_output_shapes, convert_lightgbm,
                                    options={"split": None})
    except ImportError:
        pass
    try:
        import xgboost
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost

        update_registered_converter(xgboost.XGBClassifier, "XGBoostXGBClassifier",
                                    calculate_linear_classifier_output_shapes, convert_xgboost,
                                    options=classifier_options)
        update_registered_converter(xgboost.XGBRegressor, "XGBoostXGBRegressor",
                                    calculate_linear_regressor_output_shapes, convert_xgboost)
    except ImportError:
        pass
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
    from skl2onnx.operator_converters.decision_tree import (
        convert_sklearn_decision_tree_classifier,
        convert_sklearn_decision_tree_regressor,
    )
    from skl2onnx.operator_converters.random_forest import (
        convert_sklearn_random_forest_classifier,
        convert_sklearn_random_forest_regressor_converter,
    )

    trees = [(DecisionTreeClassifier, "SklearnDecisionTreeClassifier", convert_sklearn_decision_tree_classifier),
             (DecisionTreeRegressor, "SklearnDecisionTreeRegressor", convert_sklearn_decision_tree_regressor),
             (RandomForestClassifier, "SklearnRandomForestClassifier", convert_sklearn_random_forest_classifier),
             (RandomForestRegressor, "SklearnRandomForestRegressor", convert_sklearn_random_forest_regressor_converter),
             (ExtraTreesClassifier, "SklearnExtraTreesClassifier", convert_sklearn_random_forest_classifier),
             (ExtraTreesRegressor, "SklearnExtraTreesRegressor", convert_sklearn_random_forest_regressor_converter),
             # podium's forests only fit differently (rounds of trees to a deadline)
             (DeadlineRandomForestClassifier, "PodiumRandomForestClassifier", convert_sklearn_random_forest_classifier),
             (DeadlineRandomForestRegressor, "PodiumRandomForestRegressor",
              convert_sklearn_random_forest_regressor_converter),
             (DeadlineExtraTreesClassifier, "PodiumExtraTreesClassifier", convert_sklearn_random_forest_classifier),
             (DeadlineExtraTreesRegressor, "PodiumExtraTreesRegressor", convert_sklearn_random_forest_regressor_converter)]
    tree_options: dict[str, Any] = {"decision_path": [True, False], "decision_leaf": [True, False]}
    tree_classifier_options = {**classifier_options, **tree_options, "raw_scores": [True, False],
                               "output_class_labels": [False, True]}
    for model, alias, convert in trees:
        classifier = "Classifier" in alias
        update_registered_converter(
            model, alias,
            calculate_linear_classifier_output_shapes if classifier else calculate_linear_regressor_output_shapes,
            _with_missing_directions(convert), options=tree_classifier_options if classifier else tree_options)
    # podium's histogram boosting only fits differently (rounds to a deadline): scikit-learn's converter
    update_registered_converter(DeadlineHistGradientBoostingClassifier, "PodiumHistGradientBoostingClassifier",
                                calculate_linear_classifier_output_shapes, convert_sklearn_random_forest_classifier,
                                options={**classifier_options, "raw_scores": [True, False],
                                         "output_class_labels": [False, True]})
    update_registered_converter(DeadlineHistGradientBoostingRegressor, "PodiumHistGradientBoostingRegressor",
                                calculate_linear_regressor_output_shapes,
                                convert_sklearn_random_forest_regressor_converter, options={"raw_scores": [True, False]})
    update_registered_converter(TransformedTargetRegressor, "PodiumTransformedTargetRegressor",
                                calculate_linear_regressor_output_shapes, _convert_transformed_target)
    update_registered_converter(BoostedClassifier, "PodiumBoostedClassifier",
                                calculate_linear_classifier_output_shapes, _convert_boosted_classifier,
                                options=classifier_options)
    update_registered_converter(BoostedRegressor, "PodiumBoostedRegressor",
                                calculate_linear_regressor_output_shapes, _convert_boosted_regressor)


def _with_missing_directions(convert: Any) -> Any:
    """skl2onnx's tree converter, then each split's direction for a missing value set from the
    fitted tree (``missing_go_to_left``): skl2onnx (1.20) sends every NaN right, where
    scikit-learn's trees learned where missing values go."""

    def converter(scope: Any, operator: Any, container: Any) -> None:
        before = len(container.nodes)
        convert(scope, operator, container)
        model = operator.raw_operator
        fitted = [model.tree_] if hasattr(model, "tree_") else [m.tree_ for m in model.estimators_]
        for node in container.nodes[before:]:
            if node.op_type in ("TreeEnsembleClassifier", "TreeEnsembleRegressor"):
                _set_missing_directions(node, fitted)

    return converter


def _set_missing_directions(node: Any, fitted: list[Any]) -> None:
    from onnx import helper

    attributes = {a.name: a for a in node.attribute}
    tree_ids = np.asarray(attributes["nodes_treeids"].ints)
    node_ids = np.asarray(attributes["nodes_nodeids"].ints)
    modes = np.asarray([m == b"BRANCH_LEQ" for m in attributes["nodes_modes"].strings])
    tracks = np.zeros(len(tree_ids), dtype=np.int64)
    for index, tree in enumerate(fitted):
        left = getattr(tree, "missing_go_to_left", None)
        if left is None:
            continue
        mine = tree_ids == index
        tracks[mine] = np.asarray(left)[node_ids[mine]]
    tracks[~modes] = 0
    if "nodes_missing_value_tracks_true" in attributes:
        node.attribute.remove(attributes["nodes_missing_value_tracks_true"])
    node.attribute.append(helper.make_attribute("nodes_missing_value_tracks_true", tracks.tolist()))


def _convert_boosted_classifier(scope: Any, operator: Any, container: Any) -> None:
    """The inner booster's graph; its labels (0..k-1) mapped back to the wrapper's classes."""
    from skl2onnx.algebra.onnx_ops import OnnxArgMax, OnnxGather, OnnxIdentity, OnnxReshape
    from skl2onnx.algebra.onnx_operator import OnnxSubEstimator

    wrapper = operator.raw_operator
    opv = container.target_opset
    inner = OnnxSubEstimator(wrapper.model_, operator.inputs[0], op_version=opv,
                             options={"zipmap": False})
    classes = np.asarray(wrapper.classes_)
    if classes.dtype.kind in "iub":
        classes = classes.astype(np.int64)
    else:
        classes = classes.astype(str).astype(object)
    index = OnnxArgMax(inner[1], axis=1, keepdims=0, op_version=opv)
    label = OnnxGather(classes, index, op_version=opv)
    label = OnnxReshape(label, np.array([-1], dtype=np.int64), op_version=opv,
                        output_names=[operator.outputs[0]])
    proba = OnnxIdentity(inner[1], op_version=opv, output_names=[operator.outputs[1]])
    label.add_to(scope, container)
    proba.add_to(scope, container)


def _convert_boosted_regressor(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra.onnx_ops import OnnxIdentity
    from skl2onnx.algebra.onnx_operator import OnnxSubEstimator

    opv = container.target_opset
    inner = OnnxSubEstimator(operator.raw_operator.model_, operator.inputs[0], op_version=opv)
    OnnxIdentity(inner, op_version=opv, output_names=[operator.outputs[0]]).add_to(scope, container)


def _convert_transformed_target(scope: Any, operator: Any, container: Any) -> None:
    """The inner regressor's graph, its output mapped back by the target scaler (mlp regression)."""
    from sklearn.preprocessing import StandardScaler
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxCast, OnnxMul
    from skl2onnx.algebra.onnx_operator import OnnxSubEstimator

    model = operator.raw_operator
    scaler = model.transformer_
    if not isinstance(scaler, StandardScaler):
        raise NotImplementedError(f"no ONNX converter for a {type(scaler).__name__} target transformer")
    opv = container.target_opset
    inner = OnnxCast(OnnxSubEstimator(model.regressor_, operator.inputs[0], op_version=opv),
                     to=1, op_version=opv)  # float
    scale = np.asarray(scaler.scale_ if scaler.scale_ is not None else [1.0], dtype=np.float32)
    mean = np.asarray(scaler.mean_ if scaler.mean_ is not None else [0.0], dtype=np.float32)
    OnnxAdd(OnnxMul(inner, scale, op_version=opv), mean, op_version=opv,
            output_names=[operator.outputs[0]]).add_to(scope, container)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
