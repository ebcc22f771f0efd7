"""ttnn.model_preprocessing: a torch model's parameters as ttnn tensors, in the layouts ttnn's models use —
Linear weights transposed to (in, out) in TILE layout, biases and LayerNorm parameters as (1, N) rows, Embedding
tables in ROW_MAJOR layout. Other modules' parameters come across as they are (TILE layout bfloat16)."""

from .operations.core import from_torch, to_device
from .types import ROW_MAJOR_LAYOUT, TILE_LAYOUT, bfloat16

__all__ = ["preprocess_model_parameters", "preprocess_linear_weight", "preprocess_linear_bias",
           "preprocess_layernorm_parameter", "preprocess_embedding_weight", "ParameterDict", "ParameterList"]


class ParameterDict(dict):
    """A dict whose entries read as attributes too (parameters.encoder.layer[0].dense.weight)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r} (have: {', '.join(map(str, self)) or 'none'})") from None

    __setattr__ = dict.__setitem__


class ParameterList(list):
    pass


def preprocess_linear_weight(weight, *, dtype=bfloat16, layout=TILE_LAYOUT):
    """A torch Linear weight (out, in) as the (in, out) matrix ttnn.linear multiplies by."""
    return from_torch(weight.T.contiguous(), dtype=dtype, layout=layout)


def preprocess_linear_bias(bias, *, dtype=bfloat16, layout=TILE_LAYOUT):
    return from_torch(bias.reshape((1, -1)), dtype=dtype, layout=layout)


def preprocess_layernorm_parameter(parameter, *, dtype=bfloat16, layout=TILE_LAYOUT):
    return from_torch(parameter.reshape((1, -1)), dtype=dtype, layout=layout)


def preprocess_embedding_weight(weight, *, dtype=bfloat16, layout=ROW_MAJOR_LAYOUT):
    return from_torch(weight, dtype=dtype, layout=layout)


def _default_preprocessor(module, dtype):
    import torch

    if isinstance(module, torch.nn.Linear):
        out = ParameterDict(weight=preprocess_linear_weight(module.weight, dtype=dtype))
        if module.bias is not None:
            out["bias"] = preprocess_linear_bias(module.bias, dtype=dtype)
        return out
    if isinstance(module, torch.nn.LayerNorm):
        out = ParameterDict()
        if module.weight is not None:
            out["weight"] = preprocess_layernorm_parameter(module.weight, dtype=dtype)
        if module.bias is not None:
            out["bias"] = preprocess_layernorm_parameter(module.bias, dtype=dtype)
        return out
    if isinstance(module, torch.nn.Embedding):
        return ParameterDict(weight=preprocess_embedding_weight(module.weight, dtype=dtype))
    return None


def _convert(module, name, custom_preprocessor, dtype):
    import torch

    if custom_preprocessor is not None:
        made = custom_preprocessor(module, name)
        if made:
            return ParameterDict(made) if isinstance(made, dict) else made
    made = _default_preprocessor(module, dtype)
    if made is not None:
        return made
    out = ParameterDict()
    for child_name, child in module.named_children():
        converted = _convert(child, f"{name}.{child_name}" if name else child_name, custom_preprocessor, dtype)
        if converted is not None and (not isinstance(converted, dict) or converted):
            out[child_name] = converted
    for parameter_name, parameter in module.named_parameters(recurse=False):
        layout = TILE_LAYOUT if parameter.dim() >= 2 else ROW_MAJOR_LAYOUT
        out[parameter_name] = from_torch(parameter.detach(), dtype=dtype, layout=layout)
    if isinstance(module, (torch.nn.ModuleList, torch.nn.Sequential)):
        return ParameterList(out[k] for k in sorted((k for k in out if str(k).isdigit()), key=int)) if all(
            str(k).isdigit() for k in out) else out
    return out


def _to_device(parameters, device):
    if isinstance(parameters, dict):
        return ParameterDict((k, _to_device(v, device)) for k, v in parameters.items())
    if isinstance(parameters, list):
        return ParameterList(_to_device(v, device) for v in parameters)
    return to_device(parameters, device) if hasattr(parameters, "_host") else parameters


def preprocess_model_parameters(*, model_name=None, initialize_model=None, model=None, convert_to_ttnn=None,
                                custom_preprocessor=None, device=None, prefix=None, dtype=bfloat16, **ignored):
    """The model's parameters as nested ParameterDicts of ttnn tensors (on `device` when given). Give `model`
    or `initialize_model` (a function returning it); the weight cache (model_name) is not used."""
    if model is None:
        if initialize_model is None:
            raise ValueError("preprocess_model_parameters needs model= or initialize_model=")
        model = initialize_model()
    parameters = _convert(model, prefix or "", custom_preprocessor, dtype)
    return _to_device(parameters, device) if device is not None else parameters
