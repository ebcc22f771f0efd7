"""ttnn's operations by family, as ttnn keeps them (ttnn.operations.core, .eltwise, .matmul, ...)."""
