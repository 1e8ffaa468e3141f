"""Bay photos and customer uploads (the ``photos`` and ``uploads`` features of every plan)."""
