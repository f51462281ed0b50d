"""The processes that ``tests/test_propagation.py`` starts: a driver that changes a database
trigger, and a Django web process that saves an article and reports what fired."""
