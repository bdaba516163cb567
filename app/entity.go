package app

import (
	"context"
	"net/http"

	"kelas/store"
)

// pathID is the id in the path value name. A malformed id is answered like
// an unknown one, 404, so probing ids tells nothing.
func pathID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if !store.ValidID(id) {
		return "", errNotFound
	}
	return id, nil
}

// load is the one loader of the entities named in a path: it checks the id
// and fetches the entity with get. The loaders of each entity (breachIn,
// managedTraining, …) add only their object-level check to it.
func load[T any](r *http.Request, name string, get func(context.Context, string) (T, error)) (T, error) {
	id, err := pathID(r, name)
	if err != nil {
		var zero T
		return zero, err
	}
	return get(r.Context(), id)
}
