package store

import "context"

// scanner is a row being read: *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// queryAll runs a query and scans every row with scan: the one loop behind
// every list the store returns.
func queryAll[T any](ctx context.Context, h handle, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := h.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanID reads a single integer column.
func scanID(sc scanner) (int64, error) {
	var id int64
	err := sc.Scan(&id)
	return id, err
}

// ids runs a query whose rows are single integer ids.
func ids(ctx context.Context, h handle, query string, args ...any) ([]int64, error) {
	return queryAll(ctx, h, scanID, query, args...)
}
