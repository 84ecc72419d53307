// Tests for Model.
