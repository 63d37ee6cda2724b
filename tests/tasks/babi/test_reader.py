"""The reader of the bAbI files: questions with their stories so far, supports renumbered past
the question lines, folders split by train and test, and malformed lines named."""

import pytest

from augrnn.tasks.babi.reader import read_file, read_path

STORY = """1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary?\tbathroom\t1
4 Daniel went back to the hallway.
5 Where is Daniel?\thallway\t4
1 Sandra got the milk.
2 Sandra got the apple.
3 What is Sandra carrying?\tmilk,apple\t1 2
"""


def test_questions_come_with_their_story_so_far(tmp_path):
    path = tmp_path / "qa8_lists-sets_train.txt"
    path.write_text(STORY)
    first, second, third = read_file(path)
    assert first.story == (
        ("mary", "moved", "to", "the", "bathroom"),
        ("john", "went", "to", "the", "hallway"),
    )
    assert first.question == ("where", "is", "mary") and first.answer == "bathroom"
    assert first.supports == (0,) and first.task_type == 8
    # Line 4 is the story's third statement: the question on line 3 is not one.
    assert len(second.story) == 3 and second.supports == (2,)
    assert third.story[0][0] == "sandra" and third.answer == "milk,apple"
    assert third.supports == (0, 1)


def test_a_folder_gives_its_train_or_test_files(tmp_path):
    (tmp_path / "qa1_single-supporting-fact_train.txt").write_text(STORY)
    (tmp_path / "qa1_single-supporting-fact_test.txt").write_text(STORY.split("1 Sandra")[0])
    assert len(read_path(tmp_path, "train")) == 3
    assert len(read_path(tmp_path, "test")) == 2
    with pytest.raises(FileNotFoundError, match="no bAbI file or folder"):
        read_path(tmp_path / "missing", "train")


@pytest.mark.parametrize(
    "line, why",
    [
        ("Mary moved to the bathroom.", "expected a line number"),
        ("2 Where is Mary?\t\t1", "expected a question, a tab, the answer"),
        ("2 Where is Mary?\tbathroom\tone", "supporting line numbers must be whole"),
        ("2 Where is Mary?\tbathroom\t7", "supporting line 7 is not a statement"),
    ],
)
def test_a_malformed_line_names_its_file_and_line(tmp_path, line, why):
    path = tmp_path / "qa1_bad_train.txt"
    path.write_text("1 Mary moved to the bathroom.\n" + line + "\n")
    with pytest.raises(ValueError, match=f"qa1_bad_train.txt, line 2: {why}"):
        read_file(path)
