"""Keep TIaaS's own models on ``default``; the ``galaxy`` connection is only used through raw, parameterised SQL."""


class GalaxyRouter:
    def db_for_read(self, model, **hints):
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # Never create or alter anything in Galaxy's database.
        return db != "galaxy"
