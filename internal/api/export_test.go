package api

// RegisteredRoutes lets the external tests walk every route the package
// registers (see registeredRoutes).
var RegisteredRoutes = registeredRoutes
