"""Table, Blob and Queue Storage behind small typed stores."""
