# A Neural Programmer on table questions: its loss, its answers and the program it ran.
import torch

from augrnn.programmer import NeuralProgrammer
from augrnn.tasks.table_qa import TableQAConfig, TableQATask

task = TableQATask(TableQAConfig(columns=2, min_rows=5, max_rows=8))
model = NeuralProgrammer(task.input_size, task.output_size, steps=4)
batch = task.sample(16, torch.Generator().manual_seed(0))
total, task_loss = model.loss(task, batch)  # the soft program's answer loss
total.backward()
answers = model.eval().evaluation_outputs(batch)  # the argmax program's, as at test time
print(task.question_text(batch, 0), "->", model.program(batch, 0, task.column_names))
assert answers.scalar.shape == (16,) and answers.ops.shape == (16, 4)
