"""Evaluate arithmetic expressions such as ``(2 + 3) * 4 ** 2 % 7`` safely.

The expression is parsed with :mod:`ast` and only numeric literals, the binary
operators ``+ - * / // % **`` and unary ``+``/``-`` are accepted; names, calls,
attributes and every other node type are rejected, so no code is ever run.
"""

import ast
import math
import operator

from backend.data.block import (
    Block,
    BlockCategory,
    BlockOutput,
    BlockSchemaInput,
    BlockSchemaOutput,
)
from backend.data.model import SchemaField

_BINARY_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY_OPERATORS = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
MAX_EXPRESSION_LENGTH = 500
MAX_EXPONENT = 1000


def evaluate_expression(expression: str) -> float:
    """Evaluate an arithmetic expression; raise ValueError if it isn't one."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ValueError(f"Expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"Invalid expression: {e.msg}") from e
    return float(_evaluate_node(tree.body))


def _evaluate_node(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant):
        value = node.value
        if type(value) in (int, float):  # not bool, str, None, ...: the user typed no number
            return value
        raise ValueError(f"Unsupported literal: {value!r}")
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY_OPERATORS:
        return _UNARY_OPERATORS[type(node.op)](_evaluate_node(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPERATORS:
        left = _evaluate_node(node.left)
        right = _evaluate_node(node.right)
        if isinstance(node.op, ast.Pow):
            if abs(right) > MAX_EXPONENT:
                raise ValueError(f"Exponent {right} is larger than {MAX_EXPONENT}")
            # float power: overflows fast instead of building huge integers
            if left < 0 and float(right) != int(right):
                raise ValueError("Result is a complex number")  # a root of a negative number
            return float(left) ** right
        if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and right == 0:
            raise ValueError("Division by zero")
        return _BINARY_OPERATORS[type(node.op)](left, right)
    raise ValueError(f"Unsupported syntax: {type(node).__name__}")


class SafeExpressionCalculatorBlock(Block):
    class Input(BlockSchemaInput):
        expression: str = SchemaField(
            description="Arithmetic expression using numbers, parentheses and "
            "the operators + - * / // % **",
            placeholder="For example: (2 + 3) * 4 ** 2 % 7",
        )
        decimal_places: int = SchemaField(
            description="Round the result to this many decimal places (negative means no rounding)",
            default=-1,
            advanced=True,
        )

    class Output(BlockSchemaOutput):
        result: float = SchemaField(description="The value of the expression")

    def __init__(self):
        super().__init__(
            id="52c9c685-a424-405d-9c40-688d3769c26a",
            input_schema=SafeExpressionCalculatorBlock.Input,
            output_schema=SafeExpressionCalculatorBlock.Output,
            description="Safely evaluates an arithmetic expression "
            "(+, -, *, /, //, %, **) without running any code.",
            categories={BlockCategory.LOGIC},
            test_input={"expression": "(2 + 3) * 4 ** 2 % 7", "decimal_places": 2},
            test_output=[
                ("result", 3.0),
            ],
        )

    async def run(self, input_data: Input, **kwargs) -> BlockOutput:
        try:
            result = evaluate_expression(input_data.expression)
        except OverflowError:
            yield "error", "Result is too large"
            return
        except ValueError as e:
            yield "error", str(e)
            return
        if not math.isfinite(result):
            yield "error", f"Result is not a finite number: {result}"
            return
        if input_data.decimal_places >= 0:
            result = round(result, input_data.decimal_places)
        yield "result", result
