package bulwark

// Classifiers follow one scheme across the policies. A field that judges an
// error is named Is<Property> and has the type func(err error) bool
// (breaker IsFailure and IsIgnored, retry IsRetryable, hedge IsSuccess and
// IsHedgeable, fallback IsHandled); one that judges a result returned with
// a nil error is named Is<Property>Result and has the type
// func(result any) bool (breaker IsFailureResult, retry IsRetryableResult).
// Results travel as any so that one policy serves calls of every result
// type; [ResultOf] writes a result classifier for one type without a cast.

// ResultOf adapts a classifier of T results to the func(any) bool of the
// Is…Result fields; it reports false for a result that is not a T (a nil
// result included). For example:
//
//	breaker.Config{IsFailureResult: bulwark.ResultOf(func(r *http.Response) bool {
//		return r.StatusCode >= 500
//	})}
func ResultOf[T any](is func(result T) bool) func(result any) bool {
	return func(result any) bool {
		t, ok := result.(T)
		return ok && is(t)
	}
}
