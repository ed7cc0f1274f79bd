"""Looking inside a model: probes of the gates and memory, context measures, plotly figures
and the ipywidgets explorer (lessons 03, 06, 07)."""
