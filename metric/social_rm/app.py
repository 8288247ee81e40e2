import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load("social_rm")
launch_gradio_widget(module)
