"""The protocol of ../shared/benchmarks/README.md: human scribbles, scribble robot, speed, memory.

Usage: `from scribbleseg.bench.robot import first_strokes, next_stroke` (the robot: truth + result
-> next stroke), `from scribbleseg.bench.metrics import iou, interactions_to_reach` (scores),
`from scribbleseg.bench.cases import find_datasets, load_cases` (the data); on the command line
`scribbleseg bench ../shared/benchmarks/grabcut --limit 10`.
"""
