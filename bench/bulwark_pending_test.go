package bench

// Placeholder for bulwark's side of the HTTP comparison, replaced when
// bulwark's HTTP package lands.

func bulwarkHTTPCases() []httpClientCase { return nil }
