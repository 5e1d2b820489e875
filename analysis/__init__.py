"""hamt-alloc analysis: result files -> Markdown report, figures, LaTeX tables, comparisons."""
