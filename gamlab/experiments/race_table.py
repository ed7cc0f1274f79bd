"""The paper's Table 1 layout for a race: one row per model (mean±std over seeds), then the
baselines (unigram and the n-gram count tables), as text for a terminal (`gamlab compare`) or as
HTML for a notebook (notebooks/05_showdown.ipynb). The rows come from
gamlab.experiments.race_record.RaceResult.rows."""

from __future__ import annotations

import html
import math


def _cell(row: dict, key: str, fmt: str) -> str:
    """row[key] in format fmt, with "±std" when the row has a spread over seeds; "-" when absent."""
    value, std = row.get(key), row.get(key + "_std")
    if value is None:
        return "-"
    return f"{value:{fmt}}" + (f"±{std:{fmt}}" if std is not None else "")


def _lr(lr: float | None) -> str:
    """A learning rate with the digits it was set with: 0.016, not 2e-02 (.0e rounds to one digit)."""
    return f"{lr:.3g}" if lr else "-"


def table_cells(rows: list[dict], unigram: float | None = None, ngrams: dict[int, float] | None = None,
                reach: int | None = None) -> tuple[list[str], list[list[str]]]:
    """(header, body) of the paper's Table 1 layout as strings: model, params, learning rate,
    steps, training seconds, s/epoch, tokens/s, val loss (nats/token), PPL, and the context gain
    beyond GAM's reach R (gamlab.inspection.context_use); mean±std over seeds where a row has them
    (gamlab.experiments.race_record.aggregate). Below the models: the unigram row and the n-gram
    count tables {n: val loss} (n = R + 1 sees R tokens, marked (R)). format_table and
    html_table lay them out."""
    head = ["Model", "Params", "LR", "Steps", "Time (s)", "s/epoch", "Tokens/s", "Val loss", "PPL",
            f"Gain>R={reach}" if reach else "Gain>R"]
    body = [[r["model"], f"{r['params'] / 1e6:.3f}M", _lr(r.get("lr")), str(r["steps"]), _cell(r, "seconds", ".1f"),
             _cell(r, "s_per_epoch", ".1f"), _cell(r, "tokens_per_s", ",.0f"), _cell(r, "val_loss", ".3f"),
             _cell(r, "ppl", ".2f"), _cell(r, "context_gain", ".3f")] for r in rows]
    baselines = ([("unigram", unigram)] if unigram is not None else []) + [
        (f"{n}-gram" + (" (R)" if reach and n == reach + 1 else ""), loss) for n, loss in (ngrams or {}).items()]
    body += [[name, "-", "-", "-", "-", "-", "-", f"{loss:.3f}", f"{math.exp(loss):.2f}", "-"]
             for name, loss in baselines]
    return head, body


def format_table(rows: list[dict], unigram: float | None = None, ngrams: dict[int, float] | None = None,
                 reach: int | None = None) -> str:
    """table_cells as plain text in fixed columns (117 characters wide: for a terminal, `gamlab compare`)."""
    head, body = table_cells(rows, unigram, ngrams, reach)
    widths = [14, 9, 8, 6, 12, 12, 14, 14, 14, 14]
    line = lambda cells: "".join(  # noqa: E731
        f"{c:{'<' if i == 0 else '>'}{w}}" for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(head), "-" * sum(widths)] + [line(cells) for cells in body])


def html_table(rows: list[dict], unigram: float | None = None, ngrams: dict[int, float] | None = None,
               reach: int | None = None) -> str:
    """table_cells as an HTML <table> (numbers right-aligned, the baselines in grey): a notebook
    shows it with IPython.display.HTML at any width, where the 117-character text would wrap.
    Every cell is HTML-escaped. A spread over seeds goes under its mean ("0.426" over "±0.004"),
    so that the ten columns fit the about 670 px a notebook's output has at 150% zoom on a
    1280 x 800 screen (on one line the last column was cut off there, 708 px wide).
    Used in notebooks/05_showdown.ipynb."""
    head, body = table_cells(rows, unigram, ngrams, reach)
    left, right = "text-align:left", "text-align:right"

    def cell(text: str) -> str:
        mean, pm, spread = text.partition("±")
        return html.escape(mean) + (f"<br/>±{html.escape(spread)}" if pm else "")

    th = "".join(f'<th style="{left if i == 0 else right}">{html.escape(c)}</th>' for i, c in enumerate(head))
    trs = []
    for k, cells in enumerate(body):
        grey = ' style="color:#666"' if k >= len(rows) else ""
        tds = "".join(f'<td style="{left if i == 0 else right}">{cell(c)}</td>' for i, c in enumerate(cells))
        trs.append(f"<tr{grey}>{tds}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(trs)}</tbody></table>"
